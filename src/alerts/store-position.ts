/**
 * Where an alert stands in a shared store's order: for Redis its stream entry id `ms-seq`, as two
 * numbers. The in-memory store needs none: each alert is published as it is stored, in that order.
 */
export type StorePosition = readonly [ms: number, seq: number];

/** Whether `position` comes after `mark` in the store's order. */
export function isAfter(position: StorePosition, mark: StorePosition): boolean {
  return position[0] > mark[0] || (position[0] === mark[0] && position[1] > mark[1]);
}
