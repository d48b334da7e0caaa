import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { alertLines, makeNonce, waitUntilDetecting, writeBelowRoot } from '../test/e2e/falco-harness.js';
import { dockerAndBusyboxAvailable } from '../test/helpers/busybox-image.js';
import { findOutputErrors, startFalco } from '../test/helpers/falco-process.js';
import { findFalcoRuntimes, isAtLeast, type FalcoRuntime } from '../test/helpers/falco-runtime.js';
import { spawnService, type SpawnedService } from '../test/helpers/spawn-service.js';
import { sampleTree } from './proc-stats.js';
import { runLoad } from './run-load.js';
import type { FalcoDelivery, FalcoDeliveryRow } from './falco-delivery-report.js';
import { IMAGE_NODE_ARGS } from '../scripts/image-node.js';
import { SERVICE_ENV } from './targets.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
// Below this share of the receiver's capacity, the sender sets the rate.
const RECEIVER_BOUND_SHARE = 0.8;
// Loops rewriting their own file at once: events faster than one Falco delivers (about 4,000/s here).
const REWRITERS = 4;
const log = (line: string) => console.error(`[bench] ${line}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Why real Falco cannot run here, or undefined. */
function findSkipReason(runtimes: FalcoRuntime[], missing: string[]): string | undefined {
  const problems = runtimes.length === 0 ? [...missing] : [];
  if (process.getuid?.() !== 0) problems.push('real Falco needs root (modern eBPF probe)');
  if (!dockerAndBusyboxAvailable()) problems.push('docker and /bin/busybox are needed for the burst');
  if (!existsSync(MAIN)) problems.push(`${MAIN} is missing (npm run build)`);
  return problems.length > 0 ? problems.join('; ') : undefined;
}

/** Polls until `count()` reaches `target` or stops growing for `quietMs`. */
async function waitForArrivals(count: () => number, target: number, quietMs = 5_000): Promise<void> {
  let last = -1;
  let changedAt = Date.now();
  while (count() < target && Date.now() - changedAt < quietMs) {
    if (count() !== last) [last, changedAt] = [count(), Date.now()];
    await sleep(50);
  }
}

/** Falco's stdout JSON lines (its alerts) whose fd.name starts with `prefix`. */
function countEmitted(falcoLog: string, prefix: string): { count: number; first: string } {
  const lines = falcoLog.split('\n').filter((line) => {
    if (!line.startsWith('{') || !line.includes(prefix)) return false;
    const fields = (JSON.parse(line) as { output_fields?: Record<string, unknown> }).output_fields;
    return String(fields?.['fd.name']).startsWith(prefix);
  });
  return { count: lines.length, first: lines[0] ?? '' };
}

const cpuOf = (pid: number) => sampleTree(pid).cpuSeconds;

// Falco's evt.time and our clock may differ by a constant (seen: -0.7 s): only the spread counts.
const spread = (values: number[]) => Math.max(...values) - Math.min(...values);

async function measureOne(runtime: FalcoRuntime, writes: number, seconds: number, tmp: string) {
  const nonce = makeNonce();
  const keepAlive = isAtLeast(runtime.version, 36);
  // The service as the bench runs it; only this run's lines are kept (Falco sees the whole machine).
  const service: SpawnedService = await spawnService(SERVICE_ENV, {
    main: [...IMAGE_NODE_ARGS, MAIN],
    keepLine: (raw) => raw.includes(nonce),
  });
  const url = `http://127.0.0.1:${service.port}/alerts`;
  const falco = await startFalco(runtime, { url }, `bench-delivery-${nonce}`).catch((error: unknown) => {
    service.child.kill('SIGKILL');
    throw error;
  });
  try {
    await waitUntilDetecting(service, nonce, falco);
    const prefix = `/falco-bench-${nonce}-`;
    const ours = () =>
      alertLines(service, (l) => String(l.alert.output_fields?.['fd.name']).startsWith(prefix));
    const written = Math.round(writes / REWRITERS) * REWRITERS;
    const writing = writeBelowRoot(prefix, written, REWRITERS);
    // CPU of each side while alerts arrive: one near a full core is the one that sets the rate.
    await waitForArrivals(() => ours().length, 1, 30_000);
    const before = { at: performance.now(), receiver: cpuOf(service.child.pid!), falco: cpuOf(falco.pid) };
    await waitForArrivals(() => ours().length, written);
    const wallSeconds = (performance.now() - before.at) / 1000;
    const receiverCores = (cpuOf(service.child.pid!) - before.receiver) / wallSeconds;
    const falcoCores = (cpuOf(falco.pid) - before.falco) / wallSeconds;
    await writing;
    await falco.stop();
    const emitted = countEmitted(falco.log(), prefix);
    const lines = ours();
    if (lines.length === 0 || emitted.count === 0)
      throw new Error(`no alert of the burst arrived (${emitted.count} emitted, see ${falco.logFile})`);
    const receipts = lines.map((l) => Date.parse(String(l.receivedAt)));
    const events = lines.map((l) => Number(l.alert.output_fields?.['evt.time']) / 1e6);

    const bodyFile = path.join(tmp, `falco-${runtime.version}.json`);
    writeFileSync(bodyFile, emitted.first);
    log(
      `falco ${runtime.version}: the receiver alone, ${keepAlive ? 'keep-alive' : 'a connection per alert'}`,
    );
    const load = await runLoad({
      url,
      bodyFile,
      connections: 1,
      newConnectionPerRequest: !keepAlive,
      durationSeconds: seconds,
    });
    const deliveredPerSecond = (lines.length * 1000) / spread(receipts);
    const row: FalcoDeliveryRow = {
      falco: runtime.version,
      keepAlive,
      written,
      emitted: emitted.count,
      received: lines.length,
      deliveredPerSecond,
      writtenPerSecond: (lines.length * 1000) / spread(events),
      lagGrowthMs: spread(receipts.map((at, i) => at - events[i]!)),
      receiverCores,
      falcoCores,
      outputErrors: findOutputErrors(falco.log()).length,
      capacityPerSecond: load.alertsPerSecond,
      capacityFailures: load.non2xx + load.errors,
      payloadBytes: Buffer.byteLength(emitted.first),
      bottleneck:
        deliveredPerSecond < RECEIVER_BOUND_SHARE * load.alertsPerSecond ? 'Falco (sender side)' : 'receiver',
    };
    return row;
  } finally {
    await falco.stop();
    service.child.kill('SIGTERM');
    await service.exited;
  }
}

/**
 * For each Falco found: a burst of `writes` writes below / in one busybox container, what Falco
 * emitted and delivered, then the receiver's own rate over the same transport and body.
 */
export async function measureFalcoDelivery(options: {
  seconds: number;
  writes?: number;
}): Promise<FalcoDelivery> {
  const writes = options.writes ?? Number(process.env.BENCH_FALCO_WRITES ?? 5_000);
  const { runtimes, missing } = findFalcoRuntimes();
  const skipped = findSkipReason(runtimes, missing);
  if (skipped !== undefined) return { skipped, rows: [], failures: [] };
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'falco-delivery-'));
  const rows: FalcoDeliveryRow[] = [];
  const failures = missing.slice();
  try {
    for (const runtime of runtimes) {
      log(`falco ${runtime.version}: burst of ${writes} writes below /`);
      try {
        rows.push(await measureOne(runtime, writes, options.seconds, tmp));
      } catch (error) {
        failures.push(`Falco ${runtime.version}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { rows, failures };
}
