import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IMAGE_NODE_ARGS, IMAGE_RUNTIME_ENV } from '../scripts/image-node.js';
import { sampleTree } from './proc-stats.js';

/** A server under test, running in its own process. */
export interface Target {
  name: string;
  pid: number;
  url: string;
  /** Spawn to first 200 from /readyz (service) or to "listening" (bare), in seconds. */
  startSeconds: number;
  /** CPU time the process tree had used by then: steadier than wall time on a busy machine. */
  startCpuSeconds: number;
  stop(): Promise<void>;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const HAS_TASKSET = existsSync('/usr/bin/taskset');

/** argv prefixed with `taskset -c cpu` when a cpu is given and taskset exists. */
export function pinned(argv: string[], cpu?: number): string[] {
  return cpu !== undefined && HAS_TASKSET ? ['taskset', '-c', String(cpu), ...argv] : argv;
}

/**
 * A temporary directory for the targets' log files, in memory (tmpfs) where there is one: on this
 * VM's disk an append now and then waits for the writeback of the page it lands on (p99 150-300 ms
 * at 5000 alerts/s), which says something about the disk, not the service. In a pod the lines go
 * into a pipe, also a memory write.
 */
export function benchTmpDir(prefix: string): string {
  return mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), prefix));
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForReady(url: string, child: ChildProcess, started: bigint): Promise<number> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`target exited with ${child.exitCode} before it was ready`);
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.status === 200) return Number(process.hrtime.bigint() - started) / 1e9;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * The bare node:http baseline (bench/bare-server.ts); with workers > 1, in node:cluster workers.
 * With `logFile`, "bare+log": one synchronous JSON line per alert appended to it before the 202.
 */
export async function startBare(cpu?: number, workers = 1, logFile?: string): Promise<Target> {
  const port = await freePort();
  const started = process.hrtime.bigint();
  const [cmd, ...args] = pinned([process.execPath, '--import', 'tsx', 'bench/bare-server.ts'], cpu);
  const child = spawn(cmd!, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      WORKERS: String(workers),
      ...(logFile ? { LOG_FILE: logFile } : {}),
    },
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`bare server exited with ${code}`)));
  });
  const startSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const startCpuSeconds = sampleTree(child.pid!).cpuSeconds;
  const url = `http://127.0.0.1:${port}`;
  const name = `bare${logFile ? '+log' : ''}${workers > 1 ? ` x${workers}` : ''}`;
  return { name, pid: child.pid!, url, startSeconds, startCpuSeconds, stop: () => stopChild(child) };
}

/** The service's environment in every bench run: as the image runs it, production, info logs. */
export const SERVICE_ENV = {
  NODE_ENV: 'production',
  ...IMAGE_RUNTIME_ENV,
  LOG_LEVEL: 'info',
  // All load comes from 127.0.0.1; in a cluster each Falco node has an address of its own.
  INGEST_MAX_INFLIGHT_PER_ADDRESS: '100000',
};

export interface ServiceOptions {
  name: string;
  /** WORKERS: 1 = one process; more = node:cluster workers. */
  workers: number;
  logFile: string;
  cpu?: number;
  env?: Record<string, string>;
}

/**
 * The service as deployed: compiled dist/main.js, default config, the image's NODE_OPTIONS and node flags, and
 * stdout appended to the log file, each line written synchronously before the alert is answered.
 */
export async function startService(options: ServiceOptions): Promise<Target> {
  const port = await freePort();
  const log = openSync(options.logFile, 'a');
  const started = process.hrtime.bigint();
  const [cmd, ...args] = pinned([process.execPath, ...IMAGE_NODE_ARGS, 'dist/main.js'], options.cpu);
  const child = spawn(cmd!, args, {
    cwd: ROOT,
    stdio: ['ignore', log, 'inherit'],
    env: {
      PATH: process.env.PATH,
      ...SERVICE_ENV,
      HOST: '127.0.0.1',
      PORT: String(port),
      WORKERS: String(options.workers),
      ...options.env,
    },
  });
  closeSync(log);
  const url = `http://127.0.0.1:${port}`;
  const startSeconds = await waitForReady(url, child, started);
  const startCpuSeconds = sampleTree(child.pid!).cpuSeconds;
  return {
    name: options.name,
    pid: child.pid!,
    url,
    startSeconds,
    startCpuSeconds,
    stop: () => stopChild(child),
  };
}
