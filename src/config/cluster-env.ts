import os from 'node:os';
import { HEARTBEAT_MS } from '../server/worker-watchdog.js';
import { numberCheck, numberSetting } from './env-number.js';
import { timerMs } from './timer-ms.js';

/** WORKERS: 1 = one process (default); N > 1 = node:cluster with N workers; 0 = one per CPU. */
export const clusterEnvShape = {
  WORKERS: numberSetting(0, { max: 64 }).default(1),
  /** WORKERS > 1: a worker whose event loop has not turned for this long is killed and replaced; 0 = never. */
  WORKER_STUCK_TIMEOUT_MS: timerMs(0)
    .refine(
      (ms) => ms === 0 || ms >= 3 * HEARTBEAT_MS,
      numberCheck(`must be 0 (never) or at least ${3 * HEARTBEAT_MS} (3 heartbeats)`),
    )
    .default(30_000),
};

/** How many processes serve HTTP. */
export interface ClusterConfig {
  workers: number;
  stuckTimeoutMs: number;
}

/** The workers WORKERS starts on `cpus` CPUs: undefined for WORKERS=0 where they are not known. */
export function workerCount<C extends number | undefined>(workers: number, cpus: C): number | C {
  return workers === 0 ? cpus : workers;
}

export function toClusterConfig(env: { WORKERS: number; WORKER_STUCK_TIMEOUT_MS: number }): ClusterConfig {
  return {
    workers: workerCount(env.WORKERS, os.availableParallelism()),
    stuckTimeoutMs: env.WORKER_STUCK_TIMEOUT_MS,
  };
}
