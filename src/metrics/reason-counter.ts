import { Counter, type Registry } from 'prom-client';

/**
 * A counter with one `reason` label whose every value is exported from the start (at 0), so a
 * rate over it works before the first event. Asked twice for one name (the ingest and admin
 * listeners of ADMIN_PORT share a registry), it gives the one counter the registry holds.
 */
export function createReasonCounter<R extends string>(
  registry: Registry,
  name: string,
  help: string,
  reasons: readonly R[],
): { inc(reason: R): void } {
  const counter =
    (registry.getSingleMetric(name) as Counter<'reason'> | undefined) ??
    new Counter({ name, help, labelNames: ['reason'], registers: [registry] });
  for (const reason of reasons) counter.inc({ reason }, 0);
  return { inc: (reason) => counter.inc({ reason }) };
}
