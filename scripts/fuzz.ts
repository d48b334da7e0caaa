// npm run fuzz: posts FUZZ_RUNS (default 100k) mutated real-format Falco bodies to the built
// receiver (node dist/main.js) and prints a summary. Exit 1 on any 5xx, lost connection, crash,
// missing log line or RSS above FUZZ_RSS_LIMIT_MB. Replay a run with FUZZ_SEED.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import fc from 'fast-check';
import { fuzzCase, loadSampleBodies } from '../test/fuzz/alert-mutations.js';
import { postFuzzCase } from '../test/fuzz/post-body.js';
import { IMAGE_NODE_ARGS, imageRuntimeEnv } from './image-node.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 100_000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const CONCURRENCY = Number(process.env.FUZZ_CONCURRENCY ?? 8);
const RSS_LIMIT_MB = Number(process.env.FUZZ_RSS_LIMIT_MB ?? 300);
const BATCH = 1000;

function readRssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

async function startService(): Promise<{
  port: number;
  child: ReturnType<typeof spawn>;
  acceptedLines: () => number;
}> {
  const child = spawn(process.execPath, [...IMAGE_NODE_ARGS, 'dist/main.js'], {
    env: {
      PATH: process.env.PATH,
      // As the image runs it (its CMD flags, NODE_OPTIONS and malloc tuning); those given here win.
      ...imageRuntimeEnv(),
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      // The store bounds memory; pass its limits through to measure their effect.
      ...(process.env.STORE_MAX_BYTES ? { STORE_MAX_BYTES: process.env.STORE_MAX_BYTES } : {}),
      ...(process.env.STORE_MAX_ALERTS ? { STORE_MAX_ALERTS: process.env.STORE_MAX_ALERTS } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let carry = '';
  let accepted = 0;
  let resolvePort: (port: number) => void;
  const port = new Promise<number>((resolve) => (resolvePort = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (carry + chunk.toString('utf8')).split('\n');
    carry = lines.pop() ?? '';
    for (const line of lines) {
      if (line.includes('"event":"falco_alert"')) accepted += 1;
      else if (line.includes('"event":"listening"')) resolvePort((JSON.parse(line) as { port: number }).port);
    }
  });
  return { port: await port, child, acceptedLines: () => accepted };
}

async function main(): Promise<void> {
  const { port, child, acceptedLines } = await startService();
  // A crash of this script must not leave the service running.
  process.once('exit', () => child.kill('SIGKILL'));
  const pid = child.pid!;
  let exited = false;
  child.on('exit', () => (exited = true));
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const arbitrary = fuzzCase(loadSampleBodies());
  const statuses: Record<string, number> = {};
  const failures: string[] = [];
  const rssTrendMb: number[] = [];
  let staleRetries = 0;
  let peakRssMb = readRssMb(pid);
  const started = Date.now();

  for (let done = 0; done < RUNS && !exited; done += BATCH) {
    const cases = fc.sample(arbitrary, { numRuns: Math.min(BATCH, RUNS - done), seed: SEED + done });
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const fuzz = cases[next++]!;
        const outcome = await postFuzzCase(agent, port, fuzz, () => (staleRetries += 1));
        const key = 'error' in outcome ? 'connection-error' : String(outcome.status);
        statuses[key] = (statuses[key] ?? 0) + 1;
        if ('error' in outcome || outcome.status >= 500) {
          failures.push(
            `${key} (batch seed ${SEED + done}): ${'error' in outcome ? outcome.error : outcome.body.slice(0, 200)}`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    if (!exited) peakRssMb = Math.max(peakRssMb, readRssMb(pid));
    if ((done + BATCH) % 10_000 === 0) {
      rssTrendMb.push(Math.round(readRssMb(pid)));
      console.error(`fuzz: ${done + BATCH} bodies, ${failures.length} failures, rss ${rssTrendMb.at(-1)} MB`);
    }
  }
  const seconds = (Date.now() - started) / 1000;
  const healthy = !exited && (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200;
  agent.destroy();
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  const accepted = statuses['202'] ?? 0;
  const summary = {
    runs: RUNS,
    seed: SEED,
    concurrency: CONCURRENCY,
    statuses,
    failures: failures.length,
    acceptedLogged: acceptedLines(),
    serviceAliveAfterRun: healthy,
    staleKeepAliveRetries: staleRetries,
    peakRssMb: Math.round(peakRssMb),
    rssEvery10kMb: rssTrendMb,
    seconds: Math.round(seconds),
    requestsPerSecond: Math.round(RUNS / seconds),
  };
  console.log(JSON.stringify(summary, null, 2));
  for (const failure of failures.slice(0, 20)) console.log(failure);
  const ok = failures.length === 0 && healthy && peakRssMb < RSS_LIMIT_MB && acceptedLines() === accepted;
  console.log(ok ? 'fuzz: PASS' : `fuzz: FAIL (replay with FUZZ_SEED=${SEED})`);
  process.exitCode = ok ? 0 : 1;
}

await main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
