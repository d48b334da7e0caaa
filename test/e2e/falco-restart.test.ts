import { afterEach, describe, expect, it } from 'vitest';
import { findOutputErrors, startFalco } from '../helpers/falco-process.js';
import { killSpawned, spawnService, type SpawnedService } from '../helpers/spawn-service.js';
import {
  alertLines,
  e2eRuntimes,
  makeNonce,
  recordMeasurement,
  waitFor,
  waitUntilDetecting,
  writeBelowRoot,
} from './falco-harness.js';

const { runtimes, skipReason } = e2eRuntimes();
const WRITES = 2_000;
// Written once the new receiver listens.
const AFTER = 200;
const ENV = { STORE_MAX_ALERTS: '50000' };

/** The files below / this run's alerts name, as one receiver logged them. */
const namesOf = (service: SpawnedService, prefix: string) =>
  alertLines(service, (line) => String(line.alert.output_fields?.['fd.name']).startsWith(prefix)).map(
    (line) => String(line.alert.output_fields?.['fd.name']),
  );

/** Waits until `count()` has not changed for a second. */
async function settle(count: () => number): Promise<void> {
  let last = -1;
  await waitFor(
    'the receiver to settle',
    () => {
      const now = count();
      const settled = now === last;
      last = now;
      return settled ? true : undefined;
    },
    30_000,
  );
}

// Falco does not retry: what it cannot deliver while no receiver listens is gone, and it says so in
// its log. README (Deployment) and BENCHMARKS.md give the numbers; this holds the rule behind them.
describe.skipIf(runtimes.length === 0)(
  `a graceful receiver restart while real Falco sends${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    afterEach(() => killSpawned());

    it.each(runtimes.map((runtime) => [runtime.version, runtime] as const))(
      'Falco %s loses only alerts it logged as undeliverable, none twice, and delivers to the new receiver',
      async (version, runtime) => {
        const nonce = makeNonce();
        const prefix = `/falco-e2e-restart-${nonce}-`;
        const first = await spawnService(ENV);
        const falco = await startFalco(
          runtime,
          { url: `http://127.0.0.1:${first.port}/alerts` },
          `restart-${nonce}`,
        );
        try {
          await waitUntilDetecting(first, nonce, falco);
          const writing = writeBelowRoot(prefix, WRITES);
          await waitFor(
            'a fifth of the writes',
            () => (namesOf(first, prefix).length >= WRITES / 5 ? true : undefined),
            60_000,
          );
          first.child.kill('SIGTERM');
          expect(await first.exited).toBe(0);
          const second = await spawnService({ ...ENV, PORT: String(first.port) });
          await writing;
          // Once the new receiver listens, nothing is lost: 0.40.0's kept-alive connection was closed
          // by the restart and Falco opens a new one; 0.34.1 opens one per alert anyway.
          await writeBelowRoot(`${prefix}after-`, AFTER);
          await waitFor(
            'every alert written after the restart, at the new receiver',
            () => (namesOf(second, `${prefix}after-`).length >= AFTER ? true : undefined),
            30_000,
          );
          await settle(() => second.lines.length);
          await falco.stop();

          const log = falco.log();
          // Falco prints every alert it emitted to its own stdout (one JSON line each).
          const emitted = log.split('\n').filter((line) => line.includes(`"fd.name":"${prefix}`)).length;
          const received = [...namesOf(first, prefix), ...namesOf(second, prefix)];
          const lost = emitted - received.length;
          const outputErrors = findOutputErrors(log).length;
          recordMeasurement({
            what: 'falco-restart',
            falco: version,
            emitted,
            received: received.length,
            lost,
            outputErrors,
          });

          expect(emitted).toBe(WRITES + AFTER);
          expect(new Set(received).size).toBe(received.length);
          expect(namesOf(second, `${prefix}after-`)).toHaveLength(AFTER);
          // Nothing lost on our side unseen: every alert that did not arrive is one Falco logged.
          expect(lost).toBeGreaterThanOrEqual(0);
          expect(lost).toBeLessThanOrEqual(outputErrors);
        } finally {
          await falco.stop();
        }
      },
      180_000,
    );
  },
);
