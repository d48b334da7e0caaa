import cluster from 'node:cluster';
import type { EventEmitter } from 'node:events';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  COLLECT,
  COLLECT_EVERY_MS,
  COLLECT_FAILED_LOG_EVERY_MS,
  COLLECTED,
  WORKER_ANSWER_MS,
} from '../../src/metrics/cluster-metrics.js';
import { serveClusterMetrics } from '../../src/metrics/serve-cluster-metrics.js';
import { WORKER_METRICS_OPTIONS } from '../helpers/worker-metrics.js';

// The primary's node:cluster, with workers the test makes: only what serveClusterMetrics uses.
vi.mock('node:cluster', async () => {
  const { EventEmitter } = await import('node:events');
  return { default: Object.assign(new EventEmitter(), { workers: {} }) };
});

type Answer = 'metrics' | 'error' | 'none';
type Line = { event?: string; level: number; worker?: number; pid?: number; count?: number } & Record<
  string,
  unknown
>;

/**
 * Two workers answering the primary's collections as `answers` says (each its own, by worker id),
 * and the primary's log lines as objects.
 */
function startPrimary() {
  const primary = cluster as unknown as EventEmitter & { workers: Record<number, unknown> };
  primary.removeAllListeners();
  const answers: Record<number, Answer> = { 1: 'metrics', 2: 'metrics' };
  for (const id of [1, 2]) {
    const worker = {
      id,
      process: { pid: 1000 + id },
      isConnected: () => true,
      isDead: () => false,
      send(message: { type: string; id: number }) {
        if (message.type !== COLLECT || answers[id] === 'none') return;
        const body =
          answers[id] === 'error' ? { error: 'test: this metric could not be collected' } : { metrics: [] };
        // Over IPC: after the primary has sent every worker its call.
        void Promise.resolve().then(() =>
          primary.emit('message', worker, { type: COLLECTED, id: message.id, ...body }),
        );
      },
    };
    primary.workers[id] = worker;
  }
  const lines: Line[] = [];
  serveClusterMetrics({
    counts: () => ({ killed: 0, desired: 2, available: 2, startFailures: 0, exits: 0 }),
    limits: WORKER_METRICS_OPTIONS,
    logger: pino(
      { level: 'info', base: null },
      { write: (line: string) => lines.push(JSON.parse(line) as Line) },
    ),
  });
  const linesOf = (event: string) => lines.filter((line) => line.event === event);
  // `count` collections between scrapes, each given the time to be answered or not.
  const collections = (count: number) => vi.advanceTimersByTimeAsync(count * COLLECT_EVERY_MS);
  return { answers, linesOf, collections };
}

describe("the cluster primary's log of its workers' answers to the metrics collections", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  // Regression: a worker whose collection kept failing was logged at every collection (every 5 s,
  // and at every scrape) for as long as it failed.
  it('logs a failing collection at once, then a line per COLLECT_FAILED_LOG_EVERY_MS with the count, and its recovery', async () => {
    const { answers, linesOf, collections } = startPrimary();
    answers[1] = 'error';
    const failures = (3 * COLLECT_FAILED_LOG_EVERY_MS) / COLLECT_EVERY_MS;

    await collections(failures);

    const failed = linesOf('worker_metrics_collect_failed');
    expect(failed.length).toBeLessThanOrEqual(4);
    expect(failed[0]).toMatchObject({
      level: 40,
      worker: 1,
      pid: 1001,
      count: 1,
      err: expect.objectContaining({ message: 'test: this metric could not be collected' }),
    });
    expect(failed.every((line) => line.worker === 1)).toBe(true);

    answers[1] = 'metrics';
    await collections(1);

    // The failures not in a line yet are logged before the recovery: the lines add up to them all.
    const all = linesOf('worker_metrics_collect_failed');
    expect(all.reduce((sum, line) => sum + line.count!, 0)).toBe(failures);
    expect(linesOf('worker_metrics_collect_recovered')).toEqual([
      expect.objectContaining({ level: 30, worker: 1, pid: 1001, failures }),
    ]);
    // Nothing more once it collects again.
    await collections((3 * COLLECT_FAILED_LOG_EVERY_MS) / COLLECT_EVERY_MS);
    expect(linesOf('worker_metrics_collect_failed')).toHaveLength(all.length);
  });

  it('warns once, naming the worker, when one that answered stops answering, and logs when it answers again', async () => {
    const { answers, linesOf, collections } = startPrimary();
    await collections(1);
    answers[2] = 'none';

    await collections(6);

    const silent = linesOf('worker_not_answering');
    expect(silent).toEqual([expect.objectContaining({ level: 40, worker: 2, pid: 1002 })]);
    expect(silent[0]!.silentMs).toBeGreaterThanOrEqual(WORKER_ANSWER_MS);
    expect(silent[0]!.silentMs).toBeLessThanOrEqual(COLLECT_EVERY_MS + WORKER_ANSWER_MS);
    expect(linesOf('worker_answering_again')).toEqual([]);

    answers[2] = 'metrics';
    await collections(1);

    const again = linesOf('worker_answering_again');
    expect(again).toEqual([expect.objectContaining({ level: 30, worker: 2, pid: 1002 })]);
    // Silent from its last answer, before the 6 collections it left unanswered, to this one.
    expect(again[0]!.silentMs).toBeGreaterThanOrEqual(6 * COLLECT_EVERY_MS);
    expect(linesOf('worker_not_answering')).toHaveLength(1);
  });

  it('does not warn of a worker that has never answered (still loading its code)', async () => {
    const { answers, linesOf, collections } = startPrimary();
    answers[2] = 'none';

    await collections(3);

    expect(linesOf('worker_not_answering')).toEqual([]);
  });
});
