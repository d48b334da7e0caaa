import { Counter, type Registry } from 'prom-client';

/**
 * A counter with one `reason` label whose every value is exported from the start (at 0), so a
 * rate over it works before the first event.
 */
export function createReasonCounter<R extends string>(
  registry: Registry,
  name: string,
  help: string,
  reasons: readonly R[],
): { inc(reason: R): void } {
  const counter = new Counter({ name, help, labelNames: ['reason'], registers: [registry] });
  for (const reason of reasons) counter.inc({ reason }, 0);
  return { inc: (reason) => counter.inc({ reason }) };
}
