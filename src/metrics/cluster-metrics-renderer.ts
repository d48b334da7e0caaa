import type { Registry } from 'prom-client';
import { isMessage } from '../server/cluster-message.js';
import {
  COLLECT,
  COLLECTED,
  REQUEST,
  RESPONSE,
  TIMEOUT_MS,
  type Collected,
  type CollectRequest,
  type MetricsRequest,
  type MetricsResponse,
  type RenderMetrics,
} from './cluster-metrics.js';

/**
 * Worker side: offers this worker's registry to the primary's aggregation, and returns the
 * renderer `/metrics` uses: it asks the primary for the aggregate over all workers.
 */
export function createClusterMetricsRenderer(registry: Registry): RenderMetrics {
  const pending = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  process.on('message', (message: unknown) => {
    if (isMessage<CollectRequest>(message, COLLECT)) {
      const answer = (body: Omit<Collected, 'type' | 'id'>) =>
        process.send?.({ type: COLLECTED, id: message.id, ...body } satisfies Collected);
      registry.getMetricsAsJSON().then(
        (metrics) => answer({ metrics }),
        (error: unknown) => answer({ error: error instanceof Error ? error.message : String(error) }),
      );
      return;
    }
    if (!isMessage<MetricsResponse>(message, RESPONSE)) return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.error !== undefined) waiter?.reject(new Error(`cluster metrics: ${message.error}`));
    else waiter?.resolve(message.text ?? '');
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error('cluster metrics: the primary did not answer in time'));
      }, TIMEOUT_MS);
      pending.set(id, {
        resolve: (text) => (clearTimeout(timer), resolve(text)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      process.send?.({ type: REQUEST, id } satisfies MetricsRequest);
    });
}
