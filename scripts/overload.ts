// npm run overload: drives the built receiver above what it can serve (OVERLOAD_WORKERS concurrent
// posters, half keep-alive, half a connection per alert) for OVERLOAD_SECONDS per phase, while a
// probe times GET /healthz and GET /metrics and samples the service's RSS. Prints one summary per
// phase (small alerts, then ~512 KiB alerts). Measures only: there are no pass/fail thresholds.
import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { startLoad } from '../test/helpers/load-generator.js';
import { IMAGE_NODE_ARGS, imageRuntimeEnv } from './image-node.js';

const WORKERS = Number(process.env.OVERLOAD_WORKERS ?? 64);
const SECONDS = Number(process.env.OVERLOAD_SECONDS ?? 15);
const SAMPLE = join(
  import.meta.dirname,
  '../test/fixtures/falco/samples/valid/093-latest-terminal-shell-in-container.json',
);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (values: number[], p: number) =>
  values.length === 0
    ? 0
    : [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;

function readRssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : 0;
}

async function timeGet(url: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  return performance.now() - started;
}

async function findFreePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function startDiscardingService() {
  const port = await findFreePort();
  const child = spawn(process.execPath, [...IMAGE_NODE_ARGS, 'dist/main.js'], {
    // Every client here shares 127.0.0.1; in a cluster each Falco node has an address of its own.
    env: {
      PATH: process.env.PATH,
      // As the image runs it (its CMD flags, NODE_OPTIONS and malloc tuning); those given here win.
      ...imageRuntimeEnv(),
      PORT: String(port),
      HOST: '127.0.0.1',
      INGEST_MAX_INFLIGHT_PER_ADDRESS: String(WORKERS + 8),
    },
    stdio: ['ignore', openSync('/dev/null', 'w'), 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  for (;;) {
    const up = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (up) return { child, port, exited };
    await sleep(100);
  }
}

async function runPhase(name: string, port: number, pid: number, body: string) {
  const load = startLoad(port, body, WORKERS);
  const health: number[] = [];
  const metrics: number[] = [];
  const probeFailures: string[] = [];
  let peakRssMb = 0;
  const until = Date.now() + SECONDS * 1000;
  while (Date.now() < until) {
    for (const [path, into] of [
      ['/healthz', health],
      ['/metrics', metrics],
    ] as const) {
      await timeGet(`http://127.0.0.1:${port}${path}`).then(
        (ms) => into.push(ms),
        (error: Error) => probeFailures.push(`${path}: ${error.message}`),
      );
    }
    peakRssMb = Math.max(peakRssMb, readRssMb(pid));
    await sleep(200);
  }
  const result = await load.stop();
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    phase: name,
    workers: WORKERS,
    bodyBytes: Buffer.byteLength(body),
    seconds: SECONDS,
    alertsPerSecond: Math.round(result.acceptedIds.length / SECONDS),
    statuses: result.statuses,
    clientErrors: result.errors,
    healthzMs: {
      p50: round(percentile(health, 0.5)),
      p99: round(percentile(health, 0.99)),
      max: round(Math.max(...health)),
    },
    metricsMs: {
      p50: round(percentile(metrics, 0.5)),
      p99: round(percentile(metrics, 0.99)),
      max: round(Math.max(...metrics)),
    },
    probeFailures: probeFailures.length,
    peakRssMb,
  };
}

const sample = readFileSync(SAMPLE, 'utf8');
const big = sample.replace('"proc.cmdline":"bash"', `"proc.cmdline":"${'A'.repeat(512 * 1024)}"`);
// The service's log goes straight to /dev/null: read through a pipe, this script (which is also
// the load generator) would slow the service down by reading 512 KiB log lines.
const service = await startDiscardingService();
const pid = service.child.pid!;
try {
  console.log(JSON.stringify({ idleRssMb: readRssMb(pid) }));
  for (const [name, body] of [
    ['small alerts', sample],
    ['512 KiB alerts', big],
  ] as const) {
    console.log(JSON.stringify(await runPhase(name, service.port, pid, body)));
  }
} finally {
  service.child.kill('SIGTERM');
  console.log(JSON.stringify({ exit: await service.exited }));
}
