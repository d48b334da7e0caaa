import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import pino from 'pino';
import { afterAll, beforeAll } from 'vitest';
import {
  createRedisConnection,
  type ConnectionTimings,
  type RedisConnection,
} from '../../src/store/redis-connection.js';
import { commandWorks, requireComponent } from './components.js';

/** Whether redis-server and redis-cli can run (with CI=true their absence fails the file). */
export function redisAvailable(): boolean {
  return requireComponent('redis-server', commandWorks('redis-server') && commandWorks('redis-cli'));
}

/** A free loopback TCP port (bound, read and released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A real redis-server on 127.0.0.1, started by a test. */
export interface TestRedis {
  port: number;
  url: string;
  child(): ChildProcess;
  /** redis-cli with these arguments; resolves with its stdout. */
  cli(...args: string[]): Promise<string>;
  /** Kills it (SIGKILL: a crash) and waits until it is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data folder. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function waitForPing(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ping = await execa('redis-cli', ['-p', String(port), 'ping'], { reject: false, timeout: 2_000 });
    if (ping.stdout.trim() === 'PONG') return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`redis-server on ${port} did not answer`);
}

/**
 * Starts `redis-server --port P --bind 127.0.0.1 --save '' --dir <tmp>`; `appendonly` keeps every
 * write (fsync always), so a killed and restarted server still has what it acknowledged.
 */
export async function startRedis(
  options: { appendonly?: boolean; extraArgs?: string[] } = {},
): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'far-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir];
  args.push(
    ...(options.appendonly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
  );
  args.push(...(options.extraArgs ?? []));
  let child: ChildProcess;
  const start = async () => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    await waitForPing(port);
  };
  const gone = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
    });
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    child: () => child,
    cli: async (...cliArgs) =>
      (await execa('redis-cli', ['-p', String(port), ...cliArgs], { timeout: 5_000 })).stdout,
    async kill() {
      child.kill('SIGKILL');
      await gone();
    },
    restart: start,
    async stop() {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await gone();
    },
  };
}

/** A master and a replica of it, which syncs at once (Redis waits 5 s by default for more to share a sync). */
export async function startReplicatedPair(): Promise<{ master: TestRedis; replica: TestRedis }> {
  const now = ['--repl-diskless-sync-delay', '0'];
  const master = await startRedis({ extraArgs: now });
  const replica = await startRedis({ extraArgs: [...now, '--replicaof', '127.0.0.1', String(master.port)] });
  return { master, replica };
}

/** Whether `server` is a replica in sync with its master (its link to it up). */
export async function replicaSynced(server: TestRedis): Promise<boolean> {
  return /master_link_status:up/.test(await server.cli('INFO', 'replication').catch(String));
}

/** A connection of ours to `redis` (key prefix `x`) under a client name, with these timings. */
export function connectTo(redis: TestRedis, name = 'test', timings?: ConnectionTimings): RedisConnection {
  const config = {
    target: { kind: 'url' as const, url: redis.url },
    keyPrefix: 'x',
    retentionMs: 60_000,
    pendingMax: 10,
  };
  return createRedisConnection({ config, name, logger: pino({ level: 'silent' }), timings });
}

/**
 * The end of a graceful failover done by hand, as Sentinel ends it, once `promoted` took over from
 * `old` (REPLICAOF NO ONE): `old` made its replica and its clients cut off, in one transaction.
 */
export async function demoteOldMaster(old: TestRedis, promoted: TestRedis): Promise<void> {
  const admin = connectTo(old, 'admin');
  await untilUp(admin);
  for (const command of [
    ['MULTI'],
    ['REPLICAOF', '127.0.0.1', String(promoted.port)],
    ['CLIENT', 'KILL', 'TYPE', 'normal'],
    ['EXEC'],
  ])
    await admin.send(command);
  await admin.close();
}

/** Waits up to 2 s for every connection to be up. */
export async function untilUp(...connections: RedisConnection[]): Promise<void> {
  for (let i = 0; i < 100 && !connections.every((connection) => connection.isUp()); i++)
    await new Promise((resolve) => setTimeout(resolve, 20));
}

/**
 * For a describe block: a Redis started before its tests and a connection of ours to it (key
 * prefix `x`), up before the first test; both closed after the last.
 */
export function useRedisConnection(): { redis: () => TestRedis; connection: () => RedisConnection } {
  let redis: TestRedis | undefined;
  let connection: RedisConnection | undefined;
  beforeAll(async () => {
    redis = await startRedis();
    connection = connectTo(redis);
    await untilUp(connection);
  });
  afterAll(async () => {
    await connection?.close();
    await redis?.stop();
  });
  return { redis: () => redis!, connection: () => connection! };
}
