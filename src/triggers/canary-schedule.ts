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
}): () => void {
  const timer = setInterval(() => {
    const started = deps.service.start(deps.request);
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
