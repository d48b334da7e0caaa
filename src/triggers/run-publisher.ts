import type { KeptRuns } from './kept-runs.js';
import { isSettled } from './run-state.js';
import type { SharedRuns } from './shared-runs.js';

// How often this replica publishes the runs it owns while they change.
const SYNC_MS = 200;

/** Publishes the runs this replica keeps to the shared store while they may still change. */
export interface RunPublisher {
  /** Publishes now, then every SYNC_MS (renewing holds too) until no run may change any more. */
  schedule(): void;
  /** Stops the schedule and publishes once more (shutdown). */
  stop(): Promise<void>;
}

export interface RunPublisherOptions {
  /** Called once per outage of the shared store. */
  onError?: (error: unknown) => void;
  /** Called every SYNC_MS with each publication. */
  renewHolds: () => Promise<void> | undefined;
}

/** Snapshots of the runs in `kept` whose state may still change, saved to `shared`. */
export function createRunPublisher(
  kept: KeptRuns,
  shared: SharedRuns | undefined,
  options: RunPublisherOptions,
): RunPublisher {
  const { onError, renewHolds } = options;
  const { runs, unsettled, counts, lose, lapsed, due, saved } = kept;
  let timer: NodeJS.Timeout | undefined;
  let publishing = false;
  let failing = false;

  async function publish(): Promise<void> {
    if (publishing) return;
    publishing = true;
    for (const [id, sent] of unsettled) {
      const run = runs.get(id);
      if (!run) {
        unsettled.delete(id);
        continue;
      }
      const json = JSON.stringify(run);
      // Saved as it is, but counts wait (queued as that save was sent): saved again, to count them.
      if ((json === sent && !counts.has(id)) || lapsed(id)) continue;
      // Settled as saved, not as the run is once the save returns: a run that settled while its
      // older state was being saved must be published again.
      const final = isSettled(run);
      const sending = due(id);
      await shared?.save(run).then(
        (through) => {
          failing = false;
          if (!through) return lose(id);
          saved(id, sending, final, json);
        },
        (error: unknown) => {
          // Reported once per outage, not every SYNC_MS; the run is published when Redis is back.
          if (!failing) onError?.(error);
          failing = true;
        },
      );
    }
    publishing = false;
    if (unsettled.size === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  return {
    schedule() {
      void publish();
      timer ??= setInterval(() => {
        void publish();
        void renewHolds();
      }, SYNC_MS);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await publish().catch(() => undefined);
    },
  };
}
