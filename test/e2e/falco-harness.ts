import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { METRICS_REUSE_MS } from '../../src/http/routes/metrics.js';
import { BUSYBOX_IMAGE, dockerAndBusyboxAvailable, ensureBusyboxImage } from '../helpers/busybox-image.js';
import { requireComponent } from '../helpers/components.js';
import { assertFalcoRunning, E2E_LOG_DIR, type RunningFalco } from '../helpers/falco-process.js';
import { findFalcoRuntimes, type FalcoRuntime } from '../helpers/falco-runtime.js';
import type { SpawnedService } from '../helpers/spawn-service.js';

/** A stored falco_alert log line of the receiver. */
export type AlertLine = Record<string, unknown> & {
  alertId: string;
  alert: { rule: string; priority: string; output_fields?: Record<string, unknown> };
};

/**
 * The Falcos to run (describe.each) and why the suite skips. Real Falco needs root (the modern
 * eBPF probe), docker and the busybox image; with CI=true a missing part fails the run instead.
 */
export function e2eRuntimes(): { runtimes: FalcoRuntime[]; skipReason?: string } {
  const { runtimes, missing } = findFalcoRuntimes();
  const problems = [...missing];
  if (process.getuid?.() !== 0) problems.push('real Falco needs root (modern eBPF probe)');
  if (!dockerAndBusyboxAvailable()) problems.push('docker and /bin/busybox are needed to provoke detections');
  const reason = problems.join('; ');
  requireComponent(`real Falco (${reason})`, problems.length === 0);
  return problems.length === 0 ? { runtimes } : { runtimes: [], skipReason: reason };
}

/** A hex nonce that makes this run's file names and command lines unique on a shared machine. */
export const makeNonce = () => randomBytes(6).toString('hex');

/** The receiver's falco_alert lines that `match`. */
export function alertLines(
  service: Pick<SpawnedService, 'lines'>,
  match: (line: AlertLine) => boolean,
): AlertLine[] {
  return (service.lines as AlertLine[]).filter((line) => line.event === 'falco_alert' && match(line));
}

/** Polls until `check` returns a value (not undefined), or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const field = (line: AlertLine, name: string) => line.alert.output_fields?.[name];

/**
 * Falco attaches its probe a few seconds after it says so: writes a file below / on the host
 * every half second until its "Write below root" alert reached the receiver.
 */
export async function waitUntilDetecting(
  service: Pick<SpawnedService, 'lines'>,
  nonce: string,
  falco: RunningFalco,
): Promise<void> {
  for (let attempt = 0; attempt < 120; attempt++) {
    assertFalcoRunning(falco);
    const file = `/falco-e2e-ready-${nonce}-${attempt}`;
    writeFileSync(file, '');
    unlinkSync(file);
    const seen = () =>
      alertLines(service, (line) => String(field(line, 'fd.name')).startsWith(`/falco-e2e-ready-${nonce}-`));
    try {
      await waitFor('the readiness write', () => (seen().length > 0 ? true : undefined), 500);
      return;
    } catch {
      // Not attached yet: write again.
    }
  }
  throw new Error('Falco detected no write below / within 60 s');
}

/** Runs a busybox container (`--network none`); returns its full id. `terminal` adds -t. */
export function runInContainer(script: string, options: { terminal?: boolean } = {}): string {
  ensureBusyboxImage();
  const dir = mkdtempSync(join(tmpdir(), 'falco-e2e-'));
  const cidFile = join(dir, 'cid');
  try {
    execFileSync(
      'docker',
      [
        'run',
        '--rm',
        ...(options.terminal ? ['-t'] : []),
        '--cidfile',
        cidFile,
        '--network',
        'none',
        '--label',
        'app.kubernetes.io/managed-by=falco-alert-receiver-e2e',
        BUSYBOX_IMAGE,
        'sh',
        '-c',
        script,
      ],
      { stdio: 'ignore', timeout: 120_000 },
    );
    return readFileSync(cidFile, 'utf8').trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * busybox sh writing below / as fast as it can: `count` new files `${prefix}0`, `${prefix}1`, ...;
 * or, with `rewriters`, that many loops at once, loop j rewriting its own file `${prefix}j`
 * `count / rewriters` times (creating a file on overlayfs is the slow part: about 4x the rate).
 */
function buildWriteLoop(prefix: string, count: number, rewriters?: number): string {
  if (rewriters === undefined)
    return `i=0; while [ $i -lt ${count} ]; do echo > ${prefix}$i; i=$((i+1)); done`;
  const loops = Array.from({ length: rewriters }, (_, j) => j).join(' ');
  const each = Math.round(count / rewriters);
  return `for j in ${loops}; do ( i=0; while [ $i -lt ${each} ]; do echo > ${prefix}$j; i=$((i+1)); done ) & done; wait`;
}

/**
 * `buildWriteLoop` in one busybox container, without blocking the event loop (a receiver whose
 * stdout this process reads keeps being read); resolves when the container exits.
 */
export function writeBelowRoot(prefix: string, count: number, rewriters?: number): Promise<void> {
  ensureBusyboxImage();
  const script = buildWriteLoop(prefix, count, rewriters);
  const argv = ['run', '--rm', '--network', 'none', BUSYBOX_IMAGE, 'sh', '-c', script];
  const child = spawn('docker', argv, { stdio: 'ignore' });
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** The digits of `evt.time` in the raw JSON line that holds `needle` (Falco's stdout or our log). */
export function rawEvtTime(text: string, needle: string): string | undefined {
  const line = text.split('\n').find((candidate) => candidate.includes(needle));
  return line === undefined ? undefined : /"evt\.time":(\d+)/.exec(line)?.[1];
}

/** Prometheus text → the sum of `name`'s samples whose labels contain every `labels` pair. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

// The service serves a render again for METRICS_REUSE_MS: a scrape meant to see what happened
// since the one before waits that long after it.
let lastScrapeMs = 0;

export async function metricsText(service: SpawnedService): Promise<string> {
  const waitMs = lastScrapeMs + METRICS_REUSE_MS - Date.now();
  if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
  try {
    return await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
  } finally {
    lastScrapeMs = Date.now();
  }
}

/** Appends one measurement (a JSON line) to .cache/e2e-logs/measurements.jsonl, kept with the logs. */
export function recordMeasurement(measurement: Record<string, unknown>): void {
  mkdirSync(E2E_LOG_DIR, { recursive: true });
  appendFileSync(
    join(E2E_LOG_DIR, 'measurements.jsonl'),
    `${JSON.stringify({ at: new Date().toISOString(), ...measurement })}\n`,
  );
}
