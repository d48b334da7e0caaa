import { toPointer } from './json-pointer.js';
import type { FieldProblem } from './parse-falco-alert.js';

/**
 * Size limits far above anything Falco writes, so a 1 MiB body cannot become tens of megabytes of
 * objects in the store or a validation error per list item. Falco: a few dozen tags and
 * output_fields keys (metrics snapshots: one key per rule), short lists.
 */
export const ALERT_BOUNDS = { tags: 512, outputFields: 4096, listItems: 4096, extraValues: 1000 } as const;

/**
 * Most object keys, and most objects and arrays, a body may write: twice what the bounds let a
 * valid alert hold (its 9 keys, an output_fields key and list for each of 4096, and 1000 extra
 * values). Past either the body is refused from the scan before any parser reads it: 150,000 keys
 * cost about half a second of parsing and naming before the bounds below were ever checked.
 */
export const MAX_BODY_SHAPE = 2 * (16 + ALERT_BOUNDS.outputFields + ALERT_BOUNDS.extraValues);

const KNOWN_KEYS = new Set([
  'rule',
  'priority',
  'time',
  'hostname',
  'source',
  'output',
  'message',
  'tags',
  'output_fields',
]);

// Values (objects, arrays and scalars) inside a value, stopping once past `limit`. No spread and
// no recursion: a 300,000-item list or a deep nest must cost a bounded loop, never the stack.
function countValues(value: unknown, limit: number): number {
  let count = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0 && count <= limit) {
    const item = pending.pop();
    count += 1;
    if (item === null || typeof item !== 'object') continue;
    const children = Array.isArray(item) ? item : Object.values(item);
    // Each queued value counts at least one: past the limit already, whatever they hold.
    if (count + pending.length + children.length > limit) return limit + 1;
    for (const child of children) pending.push(child);
  }
  return count;
}

/** Problems with an alert's sizes, checked before the schema so oversized lists fail fast. */
export function findBoundsProblems(root: Record<string, unknown>): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const { tags, output_fields: fields } = root;
  if (Array.isArray(tags) && tags.length > ALERT_BOUNDS.tags) {
    problems.push({
      pointer: '/tags',
      detail: `must have at most ${ALERT_BOUNDS.tags} items, got ${tags.length}`,
    });
  }
  if (fields !== null && typeof fields === 'object' && !Array.isArray(fields)) {
    const keys = Object.keys(fields);
    if (keys.length > ALERT_BOUNDS.outputFields) {
      problems.push({
        pointer: '/output_fields',
        detail: `must have at most ${ALERT_BOUNDS.outputFields} keys, got ${keys.length}`,
      });
    }
    const long = keys.find((key) => {
      const value = (fields as Record<string, unknown>)[key];
      return Array.isArray(value) && value.length > ALERT_BOUNDS.listItems;
    });
    if (long !== undefined) {
      problems.push({
        pointer: toPointer(['output_fields', long]),
        detail: `lists must have at most ${ALERT_BOUNDS.listItems} items`,
      });
    }
  }
  // Unknown keys (falcosidekick's uuid) are kept as they are, so they must stay small: the key
  // that takes them past the bound is named.
  let extra = 0;
  for (const key of Object.keys(root)) {
    if (!KNOWN_KEYS.has(key)) extra += countValues(root[key], ALERT_BOUNDS.extraValues);
    if (extra > ALERT_BOUNDS.extraValues) {
      problems.push({
        pointer: toPointer([key]),
        detail: `unknown top-level keys may hold at most ${ALERT_BOUNDS.extraValues} values in all`,
      });
      break;
    }
  }
  return problems;
}
