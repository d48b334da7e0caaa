import cluster from 'node:cluster';
import type { EventEmitter } from 'node:events';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import {
  AGGREGATE_REUSE_MS,
  COLLECT,
  COLLECTED,
  REQUEST,
  RESPONSE,
  type MetricsResponse,
} from '../../src/metrics/cluster-metrics.js';
import { serveClusterMetrics } from '../../src/metrics/serve-cluster-metrics.js';
import { createWorkerMetrics, sentToPrimary, WORKER_METRICS_OPTIONS } from '../helpers/worker-metrics.js';

// The primary's node:cluster, with workers the test makes: only what serveClusterMetrics uses.
vi.mock('node:cluster', async () => {
  const { EventEmitter } = await import('node:events');
  return { default: Object.assign(new EventEmitter(), { workers: {} }) };
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Two workers that answer the primary's collections with their registries, as the real ones do. */
async function startWorkers() {
  const primary = cluster as unknown as EventEmitter & { workers: Record<number, unknown> };
  const collections: number[] = [];
  const answers: MetricsResponse[] = [];
  const metrics = await sentToPrimary(createWorkerMetrics());
  for (const id of [1, 2]) {
    const worker = {
      id,
      isConnected: () => true,
      isDead: () => false,
      send(message: { type: string; id: number }) {
        if (message.type === RESPONSE) answers.push(message as MetricsResponse);
        if (message.type !== COLLECT) return;
        collections.push(message.id);
        setImmediate(() => primary.emit('message', worker, { type: COLLECTED, id: message.id, metrics }));
      },
    };
    primary.workers[id] = worker;
  }
  serveClusterMetrics({
    counts: () => ({ killed: 0, desired: 2, available: 2, startFailures: 0, exits: 0 }),
    limits: WORKER_METRICS_OPTIONS,
    logger: pino({ level: 'silent' }),
  });
  // A worker's scrape, sent to the primary; resolves with the primary's answer.
  const scrape = async (workerId: number, id: number) => {
    primary.emit('message', primary.workers[workerId], { type: REQUEST, id });
    await vi.waitFor(() => expect(answers.some((answer) => answer.id === id)).toBe(true));
    return answers.find((answer) => answer.id === id)!;
  };
  // Collections asked of the workers: each is sent to both.
  return { scrape, collections: () => new Set(collections).size };
}

// Regression (review of 9ab7590): each worker shares its /metrics renders among its own scrapes,
// but the primary collected every worker's registry and aggregated them for each worker's render:
// scrapes in a loop spread over WORKERS=2 cost 10 collections in 5 s, WORKERS a second.
describe("the cluster primary's aggregate for the workers' renders", () => {
  it('is shared by the renders of every worker within AGGREGATE_REUSE_MS, and made again after', async () => {
    const { scrape, collections } = await startWorkers();

    const first = await scrape(1, 0);
    const second = await scrape(2, 0);
    const third = await scrape(1, 1);

    expect(first.text).toContain('falco_alerts_total');
    expect([second.text, third.text]).toEqual([first.text, first.text]);
    expect(collections()).toBe(1);

    await sleep(AGGREGATE_REUSE_MS + 50);
    expect((await scrape(2, 1)).text).toContain('falco_alerts_total');
    expect(collections()).toBe(2);
  });
});
