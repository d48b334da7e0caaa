import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import pino from 'pino';
import {
  createRedisConnection,
  type ConnectionTimings,
  type RedisConnection,
} from '../../src/store/redis-connection.js';
import { commandWorks, requireComponent } from './components.js';
import { freePort, replicaSynced, startReplicatedPair, type TestRedis } from './redis-server.js';
import { until } from './until.js';

/** Whether redis-sentinel can run (with CI=true its absence fails the file). */
export function sentinelAvailable(): boolean {
  return requireComponent('redis-sentinel', commandWorks('redis-sentinel', ['--version']));
}

/** A real redis-sentinel on 127.0.0.1 watching one master, with short failover timings. */
export interface TestSentinel {
  port: number;
  /** `SENTINEL <args>` through redis-cli. */
  ask(...args: string[]): Promise<string>;
  /** redis-cli with these arguments, signed in as `requirepass` if it has one. */
  cli(...args: string[]): Promise<string>;
  /** Stops it as a pod is stopped (SIGTERM) and starts it again from its config file. */
  restart(): Promise<void>;
  stop(): void;
}

/** A Sentinel's options: its timing, and passwords for its own clients and for the data nodes. */
export interface SentinelOptions {
  // How long the master may be silent before Sentinel calls it down (its default is 30 s).
  downAfterMs?: number;
  /**
   * Sentinel's `failover-timeout` (3 s here). It also is how long Sentinel leaves a replica that
   * follows another address than the master's before it points the replica at the master itself.
   */
  failoverTimeoutMs?: number;
  /** Sentinel's own `requirepass` (its `default` user), which `ask` signs in with. */
  requirepass?: string;
  /** The password Sentinel signs in to the data nodes with (`sentinel auth-pass`). */
  authPass?: string;
}

export async function startSentinel(
  master: string,
  masterPort: number,
  { downAfterMs = 1_000, failoverTimeoutMs = 3_000, requirepass, authPass }: SentinelOptions = {},
): Promise<TestSentinel> {
  const port = await freePort();
  // Sentinel rewrites its config file, so it gets a fresh writable one.
  const file = join(mkdtempSync(join(tmpdir(), 'far-sentinel-')), 'sentinel.conf');
  writeFileSync(
    file,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `sentinel monitor ${master} 127.0.0.1 ${masterPort} 1`,
      `sentinel down-after-milliseconds ${master} ${downAfterMs}`,
      `sentinel failover-timeout ${master} ${failoverTimeoutMs}`,
      `sentinel parallel-syncs ${master} 1`,
      ...(requirepass === undefined ? [] : [`requirepass ${requirepass}`]),
      ...(authPass === undefined ? [] : [`sentinel auth-pass ${master} ${authPass}`]),
      '',
    ].join('\n'),
  );
  let child: ChildProcess = spawn('redis-sentinel', [file], { stdio: 'ignore' });
  const signIn = requirepass === undefined ? [] : ['-a', requirepass, '--no-auth-warning'];
  const cli = async (...args: string[]) =>
    (await execa('redis-cli', ['-p', String(port), ...signIn, ...args], { reject: false, timeout: 5_000 }))
      .stdout;
  const ask = (...args: string[]) => cli('SENTINEL', ...args);
  const watching = async () => {
    for (let i = 0; i < 100 && !(await ask('masters')).includes(master); i++)
      await new Promise((resolve) => setTimeout(resolve, 50));
  };
  await watching();
  const restart = async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    child = spawn('redis-sentinel', [file], { stdio: 'ignore' });
    await watching();
  };
  return { port, ask, cli, restart, stop: () => child.kill('SIGKILL') };
}

/**
 * A master, its replica and a Sentinel watching them as `falco` (default timings), once the replica
 * is in sync and the Sentinel knows it: a failover can be asked for at once.
 */
export async function startWatchedPair(): Promise<{
  master: TestRedis;
  replica: TestRedis;
  sentinel: TestSentinel;
}> {
  const { master, replica } = await startReplicatedPair();
  const sentinel = await startSentinel('falco', master.port);
  const known = async () => (await sentinel.ask('replicas', 'falco')).includes(String(replica.port));
  try {
    await until(async () => (await replicaSynced(replica)) && known(), 15_000, 'replica discovery');
  } catch (error) {
    sentinel.stop();
    await Promise.all([master.stop(), replica.stop()]);
    throw error;
  }
  return { master, replica, sentinel };
}

/** The store settings of a connection (key prefix `x`) to the master `sentinel` names. */
export function sentinelStoreConfig(sentinel: TestSentinel, master: string) {
  return {
    target: { kind: 'sentinel' as const, sentinels: [{ host: '127.0.0.1', port: sentinel.port }], master },
    keyPrefix: 'x',
    retentionMs: 60_000,
    pendingMax: 10,
  };
}

/** A receiver's environment for the master `sentinel` watches as `falco`, its keys under `prefix`. */
export function sentinelEnv(sentinel: TestSentinel, prefix: string): Record<string, string> {
  return {
    STORE_SENTINELS: `127.0.0.1:${sentinel.port}`,
    STORE_SENTINEL_MASTER: 'falco',
    STORE_KEY_PREFIX: prefix,
  };
}

/** A connection of ours (key prefix `x`) to the master `sentinel` names, under a client name. */
export function connectThroughSentinel(
  sentinel: TestSentinel,
  master: string,
  name: string,
  timings?: ConnectionTimings,
): RedisConnection {
  const config = sentinelStoreConfig(sentinel, master);
  return createRedisConnection({ config, name, logger: pino({ level: 'silent' }), timings });
}
