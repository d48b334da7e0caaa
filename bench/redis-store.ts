import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LoadResult } from './load-process.js';
import { runLoad } from './run-load.js';
import { scrape, sumMetric } from './scrape-metrics.js';
import { freePort, startService, type Target } from './targets.js';

/** One Redis-store measurement: which setup, and what each receiver and all together took. */
export interface RedisStoreRow {
  setup: string;
  alertsPerSecond: number;
  p99Ms: number;
  non2xx: number;
  /** Queued for Redis when the load stopped (0: Redis kept up). */
  pendingAtEnd: number;
}

const run = promisify(execFile);

async function startRedisServer(): Promise<{ url: string; stop(): void }> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
  ];
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ping = await run('redis-cli', ['-p', String(port), 'ping']).catch(() => ({ stdout: '' }));
    if (ping.stdout.trim() === 'PONG') break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function row(setup: string, results: LoadResult[], pendingAtEnd: number): RedisStoreRow {
  return {
    setup,
    alertsPerSecond: results.reduce((sum, r) => sum + r.alertsPerSecond, 0),
    p99Ms: Math.max(...results.map((r) => r.p99Ms)),
    non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
    pendingAtEnd,
  };
}

/**
 * One process on the memory store, one on the Redis store (the ratio is the cost of sharing), and
 * two processes on one Redis loaded at once (aggregate). Keep-alive, the first payload.
 */
export async function measureRedisStore(options: {
  logFile: string;
  bodyFile: string;
  seconds: number;
  connections: number;
}): Promise<RedisStoreRow[]> {
  const redis = await startRedisServer();
  const started: Target[] = [];
  const service = async (name: string, env: Record<string, string> = {}) => {
    const target = await startService({ name, workers: 1, logFile: options.logFile, env });
    started.push(target);
    return target;
  };
  const load = (target: Target) =>
    runLoad({
      url: `${target.url}/alerts`,
      bodyFile: options.bodyFile,
      connections: options.connections,
      newConnectionPerRequest: false,
      durationSeconds: options.seconds,
    });
  const pending = async (targets: Target[]) => {
    let sum = 0;
    for (const target of targets)
      sum += sumMetric(await scrape(target.url), 'falco_store_pending_alerts').sum;
    return sum;
  };
  try {
    const memory = await service('memory store');
    const memoryRow = row('1 process, memory store', [await load(memory)], 0);
    await memory.stop();

    const env = { STORE_URL: redis.url, STORE_KEY_PREFIX: 'bench' };
    const one = await service('redis store', env);
    const oneResult = await load(one);
    const oneRow = row('1 process, Redis store', [oneResult], await pending([one]));
    await one.stop();

    const [a, b] = await Promise.all([service('redis a', env), service('redis b', env)]);
    const both = await Promise.all([load(a), load(b)]);
    const twoRow = row('2 processes, one Redis (sum)', both, await pending([a, b]));
    return [memoryRow, oneRow, twoRow];
  } finally {
    await Promise.all(started.map((target) => target.stop()));
    redis.stop();
  }
}

/** The markdown section of the report. */
export function renderRedisStore(rows: RedisStoreRow[]): string {
  const memory = rows[0]?.alertsPerSecond ?? NaN;
  const lines = [
    '## Shared Redis store',
    '',
    '| Setup | alerts/s | vs memory | p99 ms | non-2xx | queued for Redis at the end |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.setup} | ${Math.round(r.alertsPerSecond)} | ${(r.alertsPerSecond / memory).toFixed(2)} | ${r.p99Ms.toFixed(1)} | ${r.non2xx} | ${r.pendingAtEnd} |`,
    ),
    '',
  ];
  return lines.join('\n');
}
