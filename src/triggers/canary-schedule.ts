import type { Logger } from 'pino';
import type { TriggerRequest } from './trigger-request.js';
import type { TriggerService } from './trigger-service.js';

/**
 * Starts `request` every `intervalMs`, so falco_trigger_verifications_total keeps moving and a
 * PrometheusRule can fire when verified detections stop. A busy slot skips that tick.
 */
export function startCanarySchedule(deps: {
  service: TriggerService;
  request: TriggerRequest;
  intervalMs: number;
  logger: Logger;
  /** With several replicas: true when this one holds (or renewed) the canary lease for `ms` (Redis). */
  lease?: (ms: number) => Promise<boolean>;
}): () => void {
  const timer = setInterval(async () => {
    // Redis unreachable: no replica can be sure it is the only one, so this tick is skipped.
    // Longer than an interval, so the holder's next tick renews it before it ends: one replica
    // keeps the canary while it lives, and another takes over at its first tick after the lease
    // ends: within 2.5 intervals of the holder's death (1.5 of lease, up to one more to that tick).
    const mine = deps.lease ? await deps.lease(Math.round(deps.intervalMs * 1.5)).catch(() => false) : true;
    if (!mine) {
      deps.logger.debug(
        { event: 'trigger_canary', started: false },
        'canary tick: another replica holds the lease',
      );
      return;
    }
    const started = await deps.service.start(deps.request);
    deps.logger.info(
      {
        event: 'trigger_canary',
        kind: deps.request.kind,
        started: started.ok,
        runId: started.ok ? started.run.id : undefined,
      },
      started.ok ? 'canary trigger started' : 'canary trigger skipped: a run is in progress',
    );
  }, deps.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
