import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The shared store's metrics (per process; Prometheus sums over pods). */
export interface StoreMetrics {
  /** Times one store operation (`op` is one of a fixed set). */
  time<T>(op: StoreOp, run: () => Promise<T>): Promise<T>;
  writeFailed(): void;
  pendingDropped(count: number): void;
  duplicatesDropped(count: number): void;
  shed(count: number): void;
  /** The live reader found alerts removed from the stream before it read them. */
  readGap(): void;
  /** A read skipped a stream entry whose stored texts are not readable (stored-json.ts). */
  unreadableEntry(): void;
  /** Through Sentinel: kept alerts not every replica online confirmed, given up to stay within the bounds. */
  unconfirmedGivenUp(count: number): void;
}

export type StoreOp = 'write' | 'get' | 'query' | 'after' | 'since' | 'count';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export function createStoreMetrics(
  registry: Registry,
  state: {
    isUp: () => boolean;
    pending: () => number;
    /** Through Sentinel only: whether the master has a replica online to confirm writes. */
    replicaOnline?: () => boolean;
  },
): StoreMetrics {
  new Gauge({
    name: 'falco_store_up',
    help: '1 when the shared alert store (Redis) answers, 0 while it is down or hung.',
    // Across cluster workers the worst one counts: a sum of 0/1 would read as a count.
    aggregator: 'min',
    registers: [registry],
    collect() {
      this.set(state.isUp() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'falco_store_pending_alerts',
    help: 'Accepted alerts waiting in this process to be written to the shared store (bounded by STORE_PENDING_MAX).',
    registers: [registry],
    collect() {
      this.set(state.pending());
    },
  });
  const { replicaOnline } = state;
  if (replicaOnline)
    new Gauge({
      name: 'falco_store_replica_online',
      help: 'Through Sentinel: 1 while the Redis master has a replica online to confirm writes, 0 while it has none (alerts are on the master alone).',
      aggregator: 'min',
      registers: [registry],
      collect() {
        this.set(replicaOnline() ? 1 : 0);
      },
    });
  const duration = new Histogram({
    name: 'falco_store_operation_duration_seconds',
    help: 'Duration of shared store operations by kind (write is one pipelined batch).',
    labelNames: ['op'],
    buckets: BUCKETS,
    registers: [registry],
  });
  const failures = new Counter({
    name: 'falco_store_write_failures_total',
    help: 'Batches of alerts the shared store did not take (they stay queued and are retried).',
    registers: [registry],
  });
  const dropped = new Counter({
    name: 'falco_store_pending_dropped_total',
    help: 'Queued alerts dropped, oldest first, because STORE_PENDING_MAX or STORE_MAX_BYTES was reached while the store was unavailable.',
    registers: [registry],
  });
  const duplicates = new Counter({
    name: 'falco_store_duplicates_dropped_total',
    help: 'Alerts not stored because another replica stored the same alert inside DEDUP_WINDOW_MS.',
    registers: [registry],
  });
  const shed = new Counter({
    name: 'falco_store_shed_total',
    help: 'Stored alerts removed early, oldest first, to make room for new ones while Redis was at maxmemory.',
    registers: [registry],
  });
  const readGaps = new Counter({
    name: 'falco_store_read_gaps_total',
    help: "Times this process's live reader found alerts removed from the shared stream (trimmed, expired or shed) before it read them; its live stream clients were sent event: truncated.",
    registers: [registry],
  });
  const unreadable = new Counter({
    name: 'falco_store_unreadable_entries_total',
    help: 'Alert entries of the shared stream skipped by a read (a list, a replay, the live reader) because their tags are not JSON or their text is not an alert ingest accepts (written by hand, by another version, or corrupted); each read that passes over one counts it.',
    registers: [registry],
  });
  const givenUp = new Counter({
    name: 'falco_store_unconfirmed_given_up_total',
    help: 'Through Sentinel: alerts on the Redis master that not every replica online had confirmed (one lags, or went away), no longer kept to write again after a failover because STORE_PENDING_MAX or STORE_MAX_BYTES was reached (a failover may lose them). Not counted for a master that has had no replica online since the link came up.',
    registers: [registry],
  });
  return {
    async time(op, run) {
      const end = duration.startTimer({ op });
      try {
        return await run();
      } finally {
        end();
      }
    },
    writeFailed: () => failures.inc(),
    pendingDropped: (count) => dropped.inc(count),
    duplicatesDropped: (count) => duplicates.inc(count),
    shed: (count) => shed.inc(count),
    readGap: () => readGaps.inc(),
    unreadableEntry: () => unreadable.inc(),
    unconfirmedGivenUp: (count) => givenUp.inc(count),
  };
}
