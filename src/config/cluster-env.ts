import os from 'node:os';
import { z } from 'zod';

/** WORKERS: 1 = one process (default); N > 1 = node:cluster with N workers; 0 = one per CPU. */
export const clusterEnvShape = {
  WORKERS: z.coerce.number().int().min(0).max(64).default(1),
};

/** How many processes serve HTTP. */
export interface ClusterConfig {
  workers: number;
}

export function toClusterConfig(env: { WORKERS: number }): ClusterConfig {
  return { workers: env.WORKERS === 0 ? os.availableParallelism() : env.WORKERS };
}
