// npm run falco-restart-loss: how many alerts real Falco loses while the receiver restarts on the
// same address (Falco does not retry: an alert it cannot deliver is gone), with SHUTDOWN_DELAY_MS
// 0 and 2000. Needs root, docker and a Falco (test/e2e finds it the same way). Measures only.
import { findOutputErrors, startFalco } from '../test/helpers/falco-process.js';
import { findFalcoRuntimes, type FalcoRuntime } from '../test/helpers/falco-runtime.js';
import { ensureBusyboxImage } from '../test/helpers/busybox-image.js';
import { buildService, spawnService, type SpawnedService } from '../test/helpers/spawn-service.js';
import { makeNonce, waitUntilDetecting, writeBelowRoot } from '../test/e2e/falco-harness.js';

const WRITES = Number(process.env.RESTART_WRITES ?? 3_000);
const DELAYS = [0, 2_000];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const received = (service: SpawnedService, prefix: string) =>
  service.lines.filter(
    (line) =>
      line.event === 'falco_alert' &&
      String(
        (line.alert as { output_fields?: Record<string, unknown> }).output_fields?.['fd.name'],
      ).startsWith(prefix),
  ).length;

async function measure(runtime: FalcoRuntime, main: string, delayMs: number) {
  const nonce = makeNonce();
  const env = { SHUTDOWN_DELAY_MS: String(delayMs), STORE_MAX_ALERTS: '50000' };
  const first = await spawnService(env, { main });
  const falco = await startFalco(
    runtime,
    { url: `http://127.0.0.1:${first.port}/alerts` },
    `restart-${nonce}`,
  );
  try {
    await waitUntilDetecting(first, nonce, falco);
    const prefix = `/falco-restart-${nonce}-`;
    const writing = writeBelowRoot(prefix, WRITES);
    while (received(first, prefix) < WRITES / 5) await sleep(20);

    first.child.kill('SIGTERM');
    await first.exited;
    const exitedAt = performance.now();
    const second = await spawnService({ ...env, PORT: String(first.port) }, { main });
    const gapMs = Math.round(performance.now() - exitedAt);
    await writing;
    await sleep(3_000);
    await falco.stop();
    second.child.kill('SIGTERM');
    await second.exited;
    const got = received(first, prefix) + received(second, prefix);
    return {
      falco: runtime.version,
      shutdownDelayMs: delayMs,
      written: WRITES,
      received: got,
      lost: WRITES - got,
      outputErrors: findOutputErrors(falco.log()).length,
      restartGapMs: gapMs,
    };
  } finally {
    await falco.stop();
  }
}

const { runtimes, missing } = findFalcoRuntimes();
if (runtimes.length === 0) throw new Error(missing.join('; '));
ensureBusyboxImage();
const main = await buildService('restart-loss');
for (const runtime of runtimes)
  for (const delayMs of DELAYS)
    process.stdout.write(`${JSON.stringify(await measure(runtime, main, delayMs))}\n`);
