/** Falco's priority names on the wire, most severe first (falco_common.cpp priority_names). */
export const PRIORITIES = [
  'Emergency',
  'Alert',
  'Critical',
  'Error',
  'Warning',
  'Notice',
  'Informational',
  'Debug',
] as const;

/** How a value that is not one of them is refused: by ingest and by the query filters alike. */
export const PRIORITY_CHOICE = `must be one of ${PRIORITIES.join(', ')} (exact case)`;

/** One of Falco's eight priority names, exactly as Falco writes it. */
export type Priority = (typeof PRIORITIES)[number];

const SEVERITY = new Map<string, number>(PRIORITIES.map((name, index) => [name, PRIORITIES.length - index]));

export function isPriority(value: unknown): value is Priority {
  return typeof value === 'string' && SEVERITY.has(value);
}

/** Severity as a number: Emergency is 8, Debug is 1. */
export function prioritySeverity(priority: Priority): number {
  return SEVERITY.get(priority) ?? 0;
}

/** True when `priority` is at least as severe as `minimum`. */
export function isAtLeast(priority: Priority, minimum: Priority): boolean {
  return prioritySeverity(priority) >= prioritySeverity(minimum);
}
