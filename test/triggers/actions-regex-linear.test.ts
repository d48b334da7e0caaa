import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { compileActionsPattern } from '../../src/triggers/actions-pattern.js';
import { selectActions } from '../../src/triggers/expected-rules.js';
import { buildTriggerApp, type TriggerApp } from '../helpers/build-trigger-app.js';
import { killSpawned, spawnService } from '../helpers/spawn-service.js';

const TOKEN = 'test-token-0123456789abcdef';
const auth = { Authorization: `Bearer ${TOKEN}` };
// 24 alternation groups: 30 s of backtracking per action name with JavaScript's RegExp.
const EXPONENTIAL = `${'(.|.)'.repeat(24)}Untrusted`;
// A probe that waits longer than this means the event loop was held.
const PROBE_TIMEOUT_MS = 2_000;

let built: TriggerApp | undefined;
afterEach(async () => {
  killSpawned();
  await built?.stop();
  built = undefined;
});

// GET /healthz every 50 ms until stopped; each answer (or the error) is kept.
function probeHealth(port: number) {
  const results: Array<number | string> = [];
  let running = true;
  const done = (async () => {
    while (running) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`, {
          signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
        });
        results.push(res.status);
      } catch (error) {
        results.push(error instanceof Error ? error.name : String(error));
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  return {
    results,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

// Regression (issue 18 point 1): `(.|.)` x24 passed the backtracking guard and froze the whole
// process (ingest and /healthz too) for 30 s while the run's expected rules were selected.
describe('the event-generator actions filter runs on an RE2 engine', () => {
  it('answers the (.|.) x24 pattern while /healthz keeps answering on a real service process', async () => {
    const emptyBin = mkdtempSync(join(tmpdir(), 'no-helm-'));
    const service = await spawnService({
      PATH: emptyBin,
      TRIGGERS_ENABLED: 'true',
      TRIGGER_TOKEN: TOKEN,
      TRIGGER_ALLOWED_NAMESPACES: 'falco-canary',
      TRIGGER_KUBECONFIG: '/nonexistent/kubeconfig',
    });
    const base = `http://127.0.0.1:${service.port}`;
    const probes = probeHealth(service.port);
    await new Promise((resolve) => setTimeout(resolve, 200));

    const res = await fetch(`${base}/triggers/event-generator`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ actions: EXPONENTIAL }),
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS * 5),
    });
    // Probes go on after the answer until a few have come back (each is a fetch of its own, slow
    // on a loaded machine): a loop held by the pattern would have timed them out.
    await vi.waitFor(() => expect(probes.results.length).toBeGreaterThan(5), { timeout: 15_000 });
    await probes.stop();

    expect(res.status).toBe(202);
    const run = (await res.json()) as { target: { actions: string } };
    expect(run.target.actions).toBe(EXPONENTIAL);
    expect(probes.results.filter((status) => status !== 200)).toEqual([]);
  });

  it('gives the RE2 meaning, as event-generator (Go regexp) does: (?i) flags work, [] is a literal ]', () => {
    const caseless = compileActionsPattern('(?i)^SYSCALL\\.READSENSITIVEFILEUNTRUSTED$');
    expect(
      caseless.ok &&
        selectActions({ version: 'v0.13', privileged: false }, caseless.pattern).map((a) => a.action),
    ).toEqual(['syscall.ReadSensitiveFileUntrusted']);
    const bracket = compileActionsPattern('[]x]');
    expect(bracket.ok && bracket.pattern.test(']')).toBe(true);
  });

  it.each([
    ['an unknown flag group', '(?z)syscall'],
    ['a nested repetition', 'syscall.**'],
    ['an unclosed group', '^syscall('],
  ])('answers 400 naming /actions for %s', async (_what, actions) => {
    built = buildTriggerApp({
      TRIGGERS_ENABLED: 'true',
      TRIGGER_TOKEN: TOKEN,
      TRIGGER_KUBECONFIG: '/nonexistent',
    });

    const res = await request(built.app).post('/triggers/event-generator').set(auth).send({ actions });

    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/actions']);
    expect((await request(built.app).get('/triggers').set(auth)).body.runs).toEqual([]);
  });

  it('selects the expected rules with the RE2 pattern for an accepted run', async () => {
    built = buildTriggerApp(
      { TRIGGERS_ENABLED: 'true', TRIGGER_TOKEN: TOKEN, TRIGGER_KUBECONFIG: '/nonexistent' },
      { PATH: '/nonexistent-bin' },
    );

    const res = await request(built.app)
      .post('/triggers/event-generator')
      .set(auth)
      .send({ actions: '(?i)readsensitivefileuntrusted$' });

    expect(res.status).toBe(202);
    expect(res.body.verification.expectations.map((e: { rule: string }) => e.rule)).toEqual([
      'Read sensitive file untrusted',
    ]);
  });
});
