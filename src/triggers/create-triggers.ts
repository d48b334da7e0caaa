import type express from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AlertQuery, AlertStore } from '../alerts/alert-store.js';
import type { FeedGap } from '../alerts/alert-feed.js';
import type { StoredAlert } from '../alerts/stored-alert.js';
import type { TriggersConfig } from '../config/triggers-env.js';
import { pickChildEnv } from '../runners/run-command.js';
import { startOrphanAdoption } from './adopt-orphans.js';
import { startCanarySchedule } from './canary-schedule.js';
import { createRunRegistry } from './run-registry.js';
import { SLOT_LEASE_MS, type SharedRuns } from './shared-runs.js';
import { reportStoreRefusals } from './shared-store-failures.js';
import { createTriggerMetrics } from './trigger-metrics.js';
import type { TriggerRequest } from './trigger-request.js';
import { createTriggerService } from './trigger-service.js';
import { createTriggersRouter } from './triggers-router.js';
import { createVerifier } from './verify-run.js';
import type { ReadBudget } from '../http/read-budget.js';
import type { RefusalLines } from '../http/auth/refusal-lines.js';
import type { RefusedCallFields } from './trigger-audit.js';

/** What main.ts wires: the router, the feed listener and the shutdown hook. */
export interface Triggers {
  router: express.Router;
  /** Subscribe this to the alert feed: it matches alerts to runs. */
  observeAlert(entry: StoredAlert): void;
  /** And this to the feed's gaps: it logs and marks the runs then waiting, whose alerts may have gone by unseen. */
  observeGap(gap: FeedGap): void;
  /**
   * Stops the canary, cancels running commands, waits up to `graceMs` for runs to clean up.
   * Resolves false when a run's cleanup was cut short (logged, naming what may be left).
   */
  stop(graceMs?: number): Promise<boolean>;
}

export interface TriggersDeps {
  config: TriggersConfig;
  logger: Logger;
  registry: Registry;
  /** The environment children may inherit from (only allow-listed names are passed on). */
  parentEnv: Record<string, string | undefined>;
  /** With the Redis store: runs, per-kind slots and the canary lease shared by every replica. */
  shared?: SharedRuns;
  /** With `shared`: the shared alerts, read back for a run taken over from a replica that stopped. */
  alerts?: Pick<AlertStore, 'query'>;
  /** The readers' budget of alert lists, which run lists and a run's alerts read back share. */
  readBudget?: ReadBudget;
  /** SLOT_LEASE_MS unless a test shortens it. */
  leaseMs?: number;
  /** Replaces the bearer check of the trigger API (the read-auth layer checks instead). */
  authorize?: (req: express.Request) => boolean;
  /** Where refused calls are audited (createRefusedCallAudits), shared with the access layer. */
  refusedCalls: RefusalLines<RefusedCallFields>;
}

function canaryRequest(config: TriggersConfig): TriggerRequest {
  const namespace = config.allowed.namespaces[0] ?? 'default';
  if (config.canary.kind === 'event-generator')
    return { kind: 'event-generator', namespace, actions: '^syscall' };
  return {
    kind: 'shell',
    target: { backend: config.defaultBackend, namespace, image: config.allowed.images[0] ?? '' },
  };
}

/** Builds the trigger feature: metrics, run registry, verifier, service, router and optional canary. */
export function createTriggers(deps: TriggersDeps): Triggers {
  const { config } = deps;
  const logger = deps.logger.child({ component: 'triggers' });
  const metrics = createTriggerMetrics(deps.registry);
  // Results are counted through the registry: with a shared store, once saved (run-registry.ts).
  const verifier = createVerifier({
    metrics,
    windowMs: config.verifyWindowMs,
    count: (run, record) => registry.count(run, record),
  });
  const leaseMs = deps.leaseMs ?? SLOT_LEASE_MS;
  // Every call for the shared runs: what Redis refuses is logged and counted once, here.
  const reported = deps.shared && reportStoreRefusals(deps.shared, { logger, registry: deps.registry });
  const shared = reported?.shared;
  const registry = createRunRegistry(config.maxRuns, shared, {
    leaseMs,
    onError: (err) =>
      logger.warn({ event: 'trigger_run_publish_failed', err }, 'could not share a trigger run'),
    onLost: (run) => {
      verifier.forget(run);
      logger.warn(
        { event: 'trigger_run_lost', runId: run.id },
        'another replica took over a trigger run, or may have (cut off from Redis past STORE_RETENTION)',
      );
    },
  });
  const service = createTriggerService({
    config,
    logger,
    metrics,
    verifier,
    registry,
    shared,
    childEnv: pickChildEnv(deps.parentEnv),
    slotLeaseMs: leaseMs,
  });
  // The alerts read back for a run taken over: what Redis refuses is reported as the runs' calls are.
  const { alerts } = deps;
  const catchUp = alerts &&
    reported && {
      query: reported.reporting(
        'catchUp',
        (query: AlertQuery) => alerts.query(query),
        'Redis refused to read back the stored alerts of a trigger run taken over: it is verified without them (verification.unseenAlertsAt)',
      ),
    };
  const stopAdoption =
    shared && catchUp
      ? startOrphanAdoption({
          shared,
          registry,
          verifier,
          metrics,
          alerts: catchUp,
          readBudget: deps.readBudget,
          leaseMs,
          logger,
          cleanUp: (run, listed) => service.cleanUpOrphan(run, listed),
        })
      : () => undefined;
  const stopCanary =
    config.canary.intervalMinutes > 0
      ? startCanarySchedule({
          service,
          request: canaryRequest(config),
          intervalMs: Math.round(config.canary.intervalMinutes * 60_000),
          logger,
          lease: shared?.leaseCanary,
        })
      : () => undefined;
  return {
    router: createTriggersRouter({
      config,
      service,
      registry,
      authorize: deps.authorize,
      readBudget: deps.readBudget,
      refusedCalls: deps.refusedCalls,
    }),
    observeAlert: (entry) => verifier.observeAlert(entry),
    observeGap(gap) {
      const runs = verifier.observeGap(gap.storedAtMs ?? gap.through[0]);
      if (runs.length === 0) return;
      logger.warn(
        { event: 'trigger_alerts_unseen', runIds: runs.map((run) => run.id) },
        'alerts were removed from the shared store before this replica read them: these runs may end missed though Falco detected them',
      );
    },
    async stop(graceMs = 5_000) {
      stopCanary();
      stopAdoption();
      const ended = await service.stop(graceMs);
      await registry.stop();
      reported?.flush();
      return ended;
    },
  };
}
