import type { Logger } from 'pino';
import { sharedFailure } from './shared-store-failures.js';
import type { TriggerRequest } from './trigger-request.js';
import type { TriggerService } from './trigger-service.js';

// Why a tick started no run (StartResult), as its log line says it.
const SKIPPED = {
  busy: 'a run is in progress',
  verifying: 'TRIGGER_MAX_RUNS runs are still verifying',
  'store-refused': 'Redis refused the slot',
} as const;

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
    // Longer than an interval, so the holder's next tick renews it before it ends: one replica
    // keeps the canary while it lives, and another takes over at its first tick after the lease
    // ends: within 2.5 intervals of the holder's death (1.5 of lease, up to one more to that tick).
    const lease = deps.lease
      ? await deps.lease(Math.round(deps.intervalMs * 1.5)).then(
          (mine) => (mine ? 'mine' : 'held'),
          (error: unknown) => sharedFailure(error),
        )
      : 'mine';
    // The store failing (down, or refusing: logged as trigger_store_refused), no replica can be
    // sure it is the only one, so this tick is skipped. Said as such: it read as another replica
    // holding the lease, while a refusal kept every replica's canary off.
    if (lease !== 'mine') {
      deps.logger.debug(
        { event: 'trigger_canary', started: false, ...(lease !== 'held' && { failure: lease }) },
        lease === 'held'
          ? 'canary tick: another replica holds the lease'
          : 'canary tick skipped: the shared store failed to give the lease',
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
        reason: started.ok ? undefined : started.reason,
      },
      started.ok ? 'canary trigger started' : `canary trigger skipped: ${SKIPPED[started.reason]}`,
    );
  }, deps.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
