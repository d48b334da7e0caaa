import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TriggerRun } from '../../src/triggers/trigger-run.js';
import { BUSYBOX_IMAGE, ensureBusyboxImage } from '../helpers/busybox-image.js';
import { findOutputErrors, startFalco, type RunningFalco } from '../helpers/falco-process.js';
import { killSpawned, spawnService, type SpawnedService } from '../helpers/spawn-service.js';
import { e2eRuntimes, makeNonce, metricsText, metricSum, waitUntilDetecting } from './falco-harness.js';

const { runtimes, skipReason } = e2eRuntimes();
const TOKEN = 'e2e-trigger-token-0123456789';
const CANARY_SECONDS = 3;
const WINDOW_MS = 8_000;

describe.skipIf(runtimes.length === 0)(
  `triggers verified by real Falco${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    describe.each(runtimes.map((runtime) => [runtime.version, runtime] as const))(
      'Falco %s',
      (_version, runtime) => {
        const nonce = makeNonce();
        let service: SpawnedService;
        let falco: RunningFalco;
        let readyAt = '';
        const base = () => `http://127.0.0.1:${service.port}`;
        const auth = { Authorization: `Bearer ${TOKEN}` };

        async function pollRun(
          id: string,
          done: (run: TriggerRun) => boolean,
          timeoutMs = 30_000,
        ): Promise<TriggerRun> {
          let last: TriggerRun | undefined;
          const deadline = Date.now() + timeoutMs;
          while (Date.now() < deadline) {
            last = (await (await fetch(`${base()}/triggers/${id}`, { headers: auth })).json()) as TriggerRun;
            if (done(last)) return last;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          throw new Error(`run ${id} did not finish: ${JSON.stringify(last)}`);
        }

        beforeAll(async () => {
          ensureBusyboxImage();
          service = await spawnService({
            TRIGGERS_ENABLED: 'true',
            TRIGGER_TOKEN: TOKEN,
            TRIGGER_DEFAULT_BACKEND: 'docker',
            TRIGGER_ALLOWED_IMAGES: BUSYBOX_IMAGE,
            TRIGGER_VERIFY_WINDOW_MS: String(WINDOW_MS),
            TRIGGER_MAX_CONCURRENT: '3',
            TRIGGER_CANARY_INTERVAL_MINUTES: String(CANARY_SECONDS / 60),
            STORE_MAX_ALERTS: '50000',
          });
          falco = await startFalco(runtime, { url: `${base()}/alerts` }, `triggers-${nonce}`);
          await waitUntilDetecting(service, nonce, falco);
          // Canary runs started before Falco attached may end missed; only later ones are judged.
          readyAt = new Date().toISOString();
        }, 120_000);
        afterAll(async () => {
          await falco?.stop();
          killSpawned();
        });

        it("ends POST /triggers/shell (docker backend) detected by Falco's own alert", async () => {
          const res = await fetch(`${base()}/triggers/shell`, {
            method: 'POST',
            headers: { ...auth, 'Content-Type': 'application/json' },
            body: '{}',
          });
          expect(res.status).toBe(202);
          const { id } = (await res.json()) as { id: string };

          const run = await pollRun(id, (r) => r.status !== 'queued' && r.status !== 'running');

          expect(run.status).toBe('succeeded');
          // Falco may see the shell before docker run returns: detected at once or while running.
          expect(run.verification.expectations).toEqual([
            expect.objectContaining({ rule: 'Terminal shell in container', status: 'detected' }),
          ]);
          const alert = await (
            await fetch(`${base()}/alerts/${run.verification.expectations[0]!.alertId}`)
          ).json();
          expect(JSON.stringify(alert)).toContain(run.nonce);
        }, 60_000);

        it('ends a shell without a terminal (terminal: false) missed, not a false detected', async () => {
          const res = await fetch(`${base()}/triggers/shell`, {
            method: 'POST',
            headers: { ...auth, 'Content-Type': 'application/json' },
            body: JSON.stringify({ terminal: false }),
          });
          expect(res.status).toBe(202);
          const { id } = (await res.json()) as { id: string };

          const run = await pollRun(
            id,
            (r) => r.status === 'failed' || r.verification.expectations.every((e) => e.status !== 'pending'),
            WINDOW_MS + 10_000,
          );

          // The shell ran (no tty: `! tty` succeeded) and printed its nonce; Falco rightly stayed silent.
          expect(run.status).toBe('succeeded');
          expect(run.verification.expectations).toEqual([
            { rule: 'Terminal shell in container', status: 'missed' },
          ]);
          const lines = service.lines.filter(
            (line) => line.event === 'falco_alert' && JSON.stringify(line).includes(run.nonce ?? '-'),
          );
          expect(lines.filter((line) => JSON.stringify(line).includes('Terminal shell'))).toEqual([]);
        }, 60_000);

        it('keeps falco_trigger_verifications_total{result="detected"} growing with the canary', async () => {
          const detected = async () =>
            metricSum(await metricsText(service), 'falco_trigger_verifications_total', {
              result: 'detected',
            });
          const before = await detected();

          await new Promise((resolve) => setTimeout(resolve, CANARY_SECONDS * 3_000));

          expect(await detected()).toBeGreaterThanOrEqual(before + 2);
          const listed = await fetch(`${base()}/triggers`, { headers: auth });
          const { runs } = (await listed.json()) as { runs: TriggerRun[] };
          const judged = runs
            // The negative control's run ends missed by design.
            .filter(
              (run) =>
                run.createdAt >= readyAt && run.status === 'succeeded' && run.target['terminal'] !== 'false',
            )
            .flatMap((run) => run.verification.expectations)
            .filter((expectation) => expectation.status !== 'pending');
          expect(judged.length).toBeGreaterThanOrEqual(2);
          expect(judged.filter((expectation) => expectation.status !== 'detected')).toEqual([]);
          expect(findOutputErrors(falco.log())).toEqual([]);
        }, 60_000);
      },
    );
  },
);
