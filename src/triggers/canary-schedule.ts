import type { Logger } from 'pino';
import type { TriggerRequest, TriggerService } from './trigger-service.js';

/**
 * Starts `request` every `intervalMs`, so falco_trigger_verifications_total keeps moving and a
 * PrometheusRule can fire when verified detections stop. A busy slot skips that tick.
 */
export function startCanarySchedule(deps: {
  service: TriggerService;
  request: TriggerRequest;
  intervalMs: number;
  logger: Logger;
  /** With several replicas: true when this one holds the canary lease for `ms` (SET NX PX in Redis). */
  lease?: (ms: number) => Promise<boolean>;
}): () => void {
  const timer = setInterval(async () => {
    // Redis unreachable: no replica can be sure it is the only one, so this tick is skipped.
    const mine = deps.lease ? await deps.lease(deps.intervalMs).catch(() => false) : true;
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
