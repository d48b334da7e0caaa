import type { Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { countedLines, type CountedLines } from '../logging/counted-lines.js';
import { COLLECT_FAILED_LOG_EVERY_MS } from './cluster-metrics.js';

/**
 * The cluster primary's log lines about its workers' answers to the metrics collections (every
 * COLLECT_EVERY_MS and at each scrape): a collection that fails, and a worker that stops answering.
 */
export interface WorkerCollectionLines {
  /** `worker` answered a collection: with its metrics, or with why it could not collect them. */
  answered(worker: Worker, error?: string): void;
  /** `worker` did not answer a collection within WORKER_ANSWER_MS. */
  unanswered(worker: Worker): void;
  /** `worker` has left: its failures not in a line yet are logged, and it is forgotten. */
  left(worker: Worker): void;
}

/** What is known of one worker's answers. */
interface Answers {
  /** When it last answered (performance.now()); a worker never heard from is not watched. */
  at: number;
  /** Since its first collection unanswered, until it answers again: logged once. */
  silent: boolean;
  /** Its failures in a row, and their lines; none while it collects. */
  failures?: { count: number; lines: CountedLines<string> };
}

export function logWorkerCollections(logger: Logger): WorkerCollectionLines {
  const workers = new Map<number, Answers>();
  const named = (worker: Worker) => ({ worker: worker.id, pid: worker.process.pid });
  // A collection that keeps failing fails every few seconds: the first at once, then counted lines.
  const failureLines = (worker: Worker) =>
    countedLines<string>(COLLECT_FAILED_LOG_EVERY_MS, (count, error) =>
      logger.warn(
        { err: new Error(error), event: 'worker_metrics_collect_failed', ...named(worker), count },
        "could not collect a worker's metrics; its last collected values are shown",
      ),
    );
  return {
    answered(worker, error) {
      const now = performance.now();
      const known = workers.get(worker.id);
      const answers: Answers = known ?? { at: now, silent: false };
      if (answers.silent) {
        logger.info(
          { event: 'worker_answering_again', ...named(worker), silentMs: Math.round(now - answers.at) },
          "a worker answers the primary's metrics collection again",
        );
      }
      answers.at = now;
      answers.silent = false;
      if (error !== undefined) {
        answers.failures ??= { count: 0, lines: failureLines(worker) };
        answers.failures.count += 1;
        answers.failures.lines.add(1, error);
      } else if (answers.failures) {
        // The failures not in a line yet first: the lines add up to them all.
        answers.failures.lines.flush();
        logger.info(
          { event: 'worker_metrics_collect_recovered', ...named(worker), failures: answers.failures.count },
          "a worker's metrics are collected again",
        );
        answers.failures = undefined;
      }
      workers.set(worker.id, answers);
    },
    unanswered(worker) {
      const answers = workers.get(worker.id);
      // Silent since it started: loading its code holds its loop (seconds from source through tsx).
      if (!answers || answers.silent) return;
      answers.silent = true;
      logger.warn(
        {
          event: 'worker_not_answering',
          ...named(worker),
          silentMs: Math.round(performance.now() - answers.at),
        },
        "a worker has not answered the primary's metrics collection (its event loop may be stuck): its last collected values are shown",
      );
    },
    left(worker) {
      workers.get(worker.id)?.failures?.lines.flush();
      workers.delete(worker.id);
    },
  };
}
