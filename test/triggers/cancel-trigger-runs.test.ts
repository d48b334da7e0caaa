import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { CANCELLED_RUN_ERROR } from '../../src/triggers/run-cancellation.js';
import { CANCEL_CHECK_MS } from '../../src/triggers/shared-runs.js';
import type { TriggerRun } from '../../src/triggers/trigger-run.js';
import { buildTriggerApp, type TriggerApp } from '../helpers/build-trigger-app.js';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { startKubeApiStandIn, type KubeApiStandIn } from '../helpers/kube-api-stand-in.js';
import { redisAvailable, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { buildTerminalShellAlert, finished, waitForRun } from '../helpers/trigger-runs.js';

const TOKEN = 'test-token-0123456789abcdef';
const auth = { Authorization: `Bearer ${TOKEN}` };
const RULE = 'Terminal shell in container';
const SAMPLE = readFileSync(
  'test/fixtures/falco/samples/valid/093-latest-terminal-shell-in-container.json',
  'utf8',
);
const BIN = resolve('.cache/bin');
const CHART = resolve('test/fixtures/helm/event-generator-stub');
const haveHelm = requireComponent('helm (.cache/bin/helm)', commandWorks(join(BIN, 'helm'), ['version']));

let built: TriggerApp | undefined;
let api: KubeApiStandIn | undefined;
afterEach(async () => {
  if (api) api.hold = undefined;
  await built?.stop();
  await api?.close();
  built = undefined;
  api = undefined;
});

const cancel = (app: TriggerApp, id: string, headers: Record<string, string> = auth) =>
  request(app.app).post(`/triggers/${id}/cancel`).set(headers);
const runsCounted = (app: TriggerApp, kind: string, outcome: string) =>
  app.metricValue('falco_trigger_runs_total', { kind, outcome });

/** A shell run on the kubernetes backend whose exec the API stand-in never answers: it hangs. */
async function startHangingShell(extra: Record<string, string> = {}) {
  api = await startKubeApiStandIn();
  api.hold = /\/exec$/;
  built = buildTriggerApp({
    TRIGGERS_ENABLED: 'true',
    TRIGGER_TOKEN: TOKEN,
    TRIGGER_KUBECONFIG: api.kubeconfigPath,
    TRIGGER_VERIFY_WINDOW_MS: '30000',
    ...extra,
  });
  const res = await request(built.app).post('/triggers/shell').set(auth).send({});
  expect(res.status).toBe(202);
  await expect.poll(() => api?.requests.some((r) => r.upgrade), { timeout: 5_000 }).toBe(true);
  return { app: built, stand: api, run: res.body as TriggerRun };
}

/** A run whose command hangs: the fixture executables of test/fixtures/bin/`dir`, 300 ms in. */
async function startWithFixture(dir: string, kind: string, extra: Record<string, string> = {}) {
  built = buildTriggerApp(
    {
      TRIGGERS_ENABLED: 'true',
      TRIGGER_TOKEN: TOKEN,
      TRIGGER_KUBECONFIG: '/nonexistent/kubeconfig',
      ...extra,
    },
    { PATH: `${resolve('test/fixtures/bin', dir)}:/usr/bin:/bin` },
  );
  const started = await request(built.app).post(`/triggers/${kind}`).set(auth).send({});
  expect(started.status).toBe(202);
  await new Promise((done) => setTimeout(done, 300));
  return { app: built, id: (started.body as TriggerRun).id };
}

describe('cancelling a running trigger run (in-memory store)', () => {
  it('stops a shell run whose exec hangs, still deletes its pod, and ends it failed naming the cancellation', async () => {
    const { app, stand, run } = await startHangingShell();

    const res = await cancel(app, run.id);

    expect(res.status).toBe(202);
    expect(res.headers.location).toBe(`/triggers/${run.id}`);
    expect(res.body).toMatchObject({ id: run.id, status: 'running', cancelRequestedAt: expect.any(String) });
    const ended = await waitForRun(app.app, TOKEN, run.id, finished, 5_000);
    expect(ended).toMatchObject({
      status: 'failed',
      error: `${CANCELLED_RUN_ERROR}: exec cancelled`,
      cancelRequestedAt: res.body.cancelRequestedAt,
    });
    expect(ended.commands.map((c) => c.argv[1])).toEqual([
      'create-pod',
      'wait-pod-running',
      'exec',
      'delete-pod',
    ]);
    expect(ended.commands.at(-1)).toMatchObject({ failed: false });
    const pod = `/api/v1/namespaces/default/pods/falco-trigger-${run.id.slice(0, 8)}`;
    expect(stand.requests.map((r) => `${r.method} ${r.path}`).at(-1)).toBe(`DELETE ${pod}`);
  });

  it('counts the run as cancelled, not failed, and its rule as not run rather than missed', async () => {
    const { app, run } = await startHangingShell();

    await cancel(app, run.id);
    const ended = await waitForRun(app.app, TOKEN, run.id, finished, 5_000);
    // The run's own alert, arriving late, verifies nothing.
    const cmdline = `sh -c tty && echo falco-receiver-canary-${ended.nonce}`;
    await request(app.app)
      .post('/alerts')
      .set('Content-Type', 'application/json')
      .send(buildTerminalShellAlert(SAMPLE, cmdline, 'default'));

    expect((await waitForRun(app.app, TOKEN, run.id, finished)).verification.expectations).toEqual([
      { rule: RULE, status: 'not_run' },
    ]);
    expect(await runsCounted(app, 'shell', 'cancelled')).toBe(1);
    expect(await runsCounted(app, 'shell', 'failed')).toBe(0);
    for (const result of ['missed', 'detected'])
      expect(await app.metricValue('falco_trigger_verifications_total', { kind: 'shell', result })).toBe(0);
    expect(app.logs.filter((line) => line.event === 'trigger_finished')).toEqual([
      expect.objectContaining({
        runId: run.id,
        status: 'failed',
        cancelRequestedAt: ended.cancelRequestedAt,
      }),
    ]);
    expect(app.logs.filter((line) => line.event === 'trigger_audit' && line.trigger === 'cancel')).toEqual([
      expect.objectContaining({ outcome: 'accepted', status: 202, runId: run.id }),
    ]);
  });

  it('frees the kind for the next run once the cancelled run has cleaned up', async () => {
    const { app, stand, run } = await startHangingShell();

    expect((await request(app.app).post('/triggers/shell').set(auth).send({})).status).toBe(429);
    await cancel(app, run.id);
    await waitForRun(app.app, TOKEN, run.id, finished, 5_000);
    stand.hold = undefined;

    expect((await request(app.app).post('/triggers/shell').set(auth).send({})).status).toBe(202);
  });

  it('answers a second cancel of a run still cleaning up with 202 and the first request time', async () => {
    // The fixture helm: install hangs, uninstall (never cancelled) takes 5 s.
    const { app, id } = await startWithFixture('slow-uninstall-helm', 'event-generator');

    const first = await cancel(app, id);
    await waitForRun(app.app, TOKEN, id, (r) => r.commands.length === 2, 5_000);
    const second = await cancel(app, id);

    expect(second.status).toBe(202);
    expect(second.body).toMatchObject({ status: 'running', cancelRequestedAt: first.body.cancelRequestedAt });
    const ended = await waitForRun(app.app, TOKEN, id, finished, 10_000);
    expect(ended).toMatchObject({ status: 'failed', error: `${CANCELLED_RUN_ERROR}: helm was cancelled` });
    expect(ended.commands.map((c) => c.argv[1])).toEqual(['install', 'list-pods', 'uninstall']);
    expect(ended.commands[2]).toMatchObject({ failed: false });
    expect(await runsCounted(app, 'event-generator', 'cancelled')).toBe(1);
  }, 15_000);

  it('stops a docker shell that hangs and still removes its container', async () => {
    // The fixture docker: `run` hangs, `rm` succeeds.
    const { app, id } = await startWithFixture('slow-docker', 'shell', { TRIGGER_DEFAULT_BACKEND: 'docker' });

    expect((await cancel(app, id)).status).toBe(202);

    const ended = await waitForRun(app.app, TOKEN, id, finished, 5_000);
    expect(ended).toMatchObject({ status: 'failed', error: `${CANCELLED_RUN_ERROR}: docker was cancelled` });
    expect(ended.commands.map((c) => c.argv.slice(0, 2).join(' '))).toEqual(['docker run', 'docker rm']);
    expect(ended.commands[1]).toMatchObject({
      argv: ['docker', 'rm', '--force', `falco-trigger-${id.slice(0, 8)}`],
      failed: false,
    });
  });

  describe.runIf(haveHelm)('an event-generator run (real helm, Kubernetes API stand-in)', () => {
    it('cancels the hanging helm install and still runs helm uninstall against the cluster', async () => {
      api = await startKubeApiStandIn();
      // helm's first call never gets an answer: the install hangs, as on a slow cluster.
      api.hold = /^\/version$/;
      built = buildTriggerApp(
        {
          TRIGGERS_ENABLED: 'true',
          TRIGGER_TOKEN: TOKEN,
          TRIGGER_ALLOWED_NAMESPACES: 'falco-canary',
          TRIGGER_KUBECONFIG: api.kubeconfigPath,
          TRIGGER_EVENT_GENERATOR_CHART: CHART,
          TRIGGER_EVENT_GENERATOR_CHART_VERSION: '',
          TRIGGER_COMMAND_TIMEOUT_MS: '20000',
        },
        { PATH: `${BIN}:${process.env.PATH ?? ''}`, HOME: mkdtempSync(join(tmpdir(), 'eg-home-')) },
      );
      const started = await request(built.app).post('/triggers/event-generator').set(auth).send({});
      expect(started.status).toBe(202);
      const id = (started.body as TriggerRun).id;
      await expect
        .poll(() => api?.requests.some((r) => r.path === '/version'), { timeout: 10_000 })
        .toBe(true);

      const res = await cancel(built, id);
      // The cluster answers again: the uninstall, which is never cancelled, reaches it.
      api.releaseHeld();

      expect(res.status).toBe(202);
      const ended = await waitForRun(built.app, TOKEN, id, finished, 15_000);
      expect(ended.status).toBe('failed');
      expect(ended.error).toMatch(new RegExp(`^${CANCELLED_RUN_ERROR}: helm was cancelled`));
      expect(ended.commands.map((c) => c.argv.slice(0, 2).join(' '))).toEqual([
        'helm install',
        'k8s list-pods',
        'helm uninstall',
      ]);
      expect(ended.commands[0]).toMatchObject({ failure: 'cancelled' });
      expect(ended.commands[2]?.argv).toEqual(
        expect.arrayContaining([`falco-eg-${id.slice(0, 8)}`, '--namespace', 'falco-canary']),
      );
      // The stand-in's last call is helm uninstall looking the release up (its storage secrets).
      const last = api.requests.at(-1);
      expect(last).toMatchObject({ method: 'GET', path: '/api/v1/namespaces/falco-canary/secrets' });
      expect(last?.query.get('labelSelector')).toBe(`name=falco-eg-${id.slice(0, 8)},owner=helm`);
      expect(await runsCounted(built, 'event-generator', 'cancelled')).toBe(1);
    }, 30_000);
  });
});

describe('cancel refusals', () => {
  const quickFailingApp = (extra: Record<string, string> = {}) =>
    buildTriggerApp(
      { TRIGGERS_ENABLED: 'true', TRIGGER_TOKEN: TOKEN, TRIGGER_KUBECONFIG: '/nonexistent', ...extra },
      { PATH: '/nonexistent-bin' },
    );

  it('answers 404 problem+json for an unknown run id', async () => {
    built = quickFailingApp();

    const res = await cancel(built, 'no-such-run');

    expect(res.status).toBe(404);
    expect(res.type).toBe('application/problem+json');
    expect(res.body).toMatchObject({ type: 'urn:falco-alert-receiver:problem:not-found', status: 404 });
  });

  it('answers 409 problem+json for a run that has already ended, and leaves it as it was', async () => {
    built = quickFailingApp();
    const started = await request(built.app).post('/triggers/event-generator').set(auth).send({});
    const run = await waitForRun(built.app, TOKEN, started.body.id, finished);

    const res = await cancel(built, run.id);

    expect(res.status).toBe(409);
    expect(res.type).toBe('application/problem+json');
    expect(res.body).toMatchObject({
      type: 'urn:falco-alert-receiver:problem:conflict',
      status: 409,
      detail: 'The run has already ended (failed).',
    });
    const after = await waitForRun(built.app, TOKEN, run.id, finished);
    expect(after).toEqual(run);
    expect(await runsCounted(built, 'event-generator', 'cancelled')).toBe(0);
    expect(built.logs).toContainEqual(
      expect.objectContaining({
        event: 'trigger_audit',
        trigger: 'cancel',
        outcome: 'finished',
        status: 409,
      }),
    );
  });

  it('answers 401 without the trigger token or with a wrong one, and cancels nothing', async () => {
    const { app, run } = await startHangingShell();

    const without = await request(app.app).post(`/triggers/${run.id}/cancel`);
    const wrong = await cancel(app, run.id, { Authorization: 'Bearer wrong-token-0123456789' });

    for (const res of [without, wrong]) {
      expect(res.status).toBe(401);
      expect(res.type).toBe('application/problem+json');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
    }
    await new Promise((done) => setTimeout(done, 300));
    const still = await waitForRun(app.app, TOKEN, run.id, () => true);
    expect(still.status).toBe('running');
    expect(still.cancelRequestedAt).toBeUndefined();
  });

  it('answers 403 to a viewer: reading a run is not stopping it', async () => {
    const { app, run } = await startHangingShell({ VIEWER_TOKEN: 'viewer-token-0123456789abc' });

    const res = await cancel(app, run.id, { Authorization: 'Bearer viewer-token-0123456789abc' });

    expect(res.status).toBe(403);
    expect((await waitForRun(app.app, TOKEN, run.id, () => true)).status).toBe('running');
  });

  it('is not there with triggers off', async () => {
    built = buildTriggerApp({});

    expect((await cancel(built, 'any-id')).status).toBe(404);
  });
});

describe.runIf(redisAvailable())(
  'cancelling a run held by another replica (two replicas on one Redis)',
  () => {
    let redis: TestRedis | undefined;
    const replicas: TriggerApp[] = [];
    afterEach(async () => {
      await Promise.all(replicas.splice(0).map((replica) => replica.stop()));
      await redis?.stop();
      redis = undefined;
    });
    // Replicas A and B on one Redis and one API stand-in, whose exec never answers; the default lease.
    const startReplicas = async () => {
      redis = await startRedis();
      api = await startKubeApiStandIn();
      api.hold = /\/exec$/;
      const env = {
        STORE_URL: redis.url,
        STORE_KEY_PREFIX: 'cancel-runs',
        TRIGGERS_ENABLED: 'true',
        TRIGGER_TOKEN: TOKEN,
        TRIGGER_KUBECONFIG: api.kubeconfigPath,
      };
      replicas.push(buildTriggerApp(env), buildTriggerApp(env));
      // Both links up before the test starts.
      await new Promise((done) => setTimeout(done, 300));
      return { a: replicas[0]!, b: replicas[1]!, stand: api };
    };
    // A shell run started on A whose exec hangs, seen running on B; its id.
    const startHangingShellOnA = async () => {
      const [a, b] = replicas;
      const started = await request(a!.app).post('/triggers/shell').set(auth).send({});
      expect(started.status).toBe(202);
      const id = (started.body as TriggerRun).id;
      await expect.poll(() => api?.requests.some((r) => r.upgrade), { timeout: 5_000 }).toBe(true);
      await waitForRun(b!.app, TOKEN, id, (r) => r.status === 'running', 5_000);
      return id;
    };

    it('cancels through B a run A holds, within CANCEL_CHECK_MS: A stops the exec, deletes the pod and counts it', async () => {
      const { a, b, stand } = await startReplicas();
      const id = await startHangingShellOnA();

      const res = await cancel(b, id);

      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ id, status: 'running', cancelRequestedAt: expect.any(String) });
      const ended = await waitForRun(b.app, TOKEN, id, finished, 10_000);
      expect(ended).toMatchObject({
        status: 'failed',
        error: `${CANCELLED_RUN_ERROR}: exec cancelled`,
        cancelRequestedAt: res.body.cancelRequestedAt,
      });
      // A read the request at its next renewal: the run's end follows within CANCEL_CHECK_MS (and the pod delete).
      const lag = Date.parse(ended.finishedAt ?? '') - Date.parse(res.body.cancelRequestedAt);
      expect(lag).toBeLessThan(CANCEL_CHECK_MS + 2_000);
      expect(ended.commands.map((c) => c.argv[1])).toEqual([
        'create-pod',
        'wait-pod-running',
        'exec',
        'delete-pod',
      ]);
      expect(stand.requests.at(-1)).toMatchObject({
        method: 'DELETE',
        path: `/api/v1/namespaces/default/pods/falco-trigger-${id.slice(0, 8)}`,
      });
      expect(ended.verification.expectations).toEqual([{ rule: RULE, status: 'not_run' }]);
      // Counted once, by A, which ran it; B only passed the request on.
      await expect.poll(() => runsCounted(a, 'shell', 'cancelled')).toBe(1);
      expect(await runsCounted(b, 'shell', 'cancelled')).toBe(0);
      expect(await runsCounted(a, 'shell', 'failed')).toBe(0);
    }, 30_000);

    // B reads A's run from Redis, but Redis refuses to store the request (full: maxmemory with
    // noeviction, which the store requires), so A would never read it. A Redis that is down answers
    // 503 too, as B cannot read A's run at all (shared-store-failures.test.ts).
    it('answers 503 on B when Redis refuses to store the request for A, and A goes on running the run', async () => {
      const { a, b } = await startReplicas();
      const id = await startHangingShellOnA();

      await redis!.cli('CONFIG', 'SET', 'maxmemory', '1');
      const res = await cancel(b, id);
      await redis!.cli('CONFIG', 'SET', 'maxmemory', '0');

      expect(res.status).toBe(503);
      expect(res.type).toBe('application/problem+json');
      expect(res.body).toMatchObject({
        type: 'urn:falco-alert-receiver:problem:service-unavailable',
        title: 'Service unavailable',
        status: 503,
        // A refusal, not an outage (review): "try again" does not help while Redis stays full.
        detail:
          'The shared store (Redis) refused the call (logged as trigger_store_refused): the replica running the run could not be asked to cancel it. A refusal lasts until Redis is fixed.',
      });
      expect(b.logs.filter((line) => line.event === 'trigger_audit' && line.trigger === 'cancel')).toEqual([
        expect.objectContaining({ outcome: 'store-refused', status: 503, runId: id }),
      ]);
      expect(b.logs.filter((line) => line.event === 'trigger_store_refused')).toEqual([
        expect.objectContaining({ op: 'requestCancel', reason: 'oom' }),
      ]);
      const answered = { method: 'POST', route: '/triggers/:id/cancel', status: '503' };
      await expect
        .poll(() =>
          b.metricValue('http_request_duration_seconds', answered, 'http_request_duration_seconds_count'),
        )
        .toBe(1);
      // Nothing was stored, so A never cancels the run: still running, nothing counted.
      await new Promise((done) => setTimeout(done, CANCEL_CHECK_MS + 200));
      expect(await redis!.cli('--scan', '--pattern', '*cancel:*')).toBe('');
      const still = await waitForRun(a.app, TOKEN, id, () => true);
      expect(still).toMatchObject({ status: 'running' });
      expect(still.cancelRequestedAt).toBeUndefined();
      for (const outcome of ['cancelled', 'failed']) expect(await runsCounted(a, 'shell', outcome)).toBe(0);
    }, 30_000);

    it('answers 409 on B for a run A has ended, and 404 for a run neither knows', async () => {
      const { a, b, stand } = await startReplicas();
      stand.hold = undefined;
      const started = await request(a.app).post('/triggers/shell').set(auth).send({});
      const id = (started.body as TriggerRun).id;
      await waitForRun(b.app, TOKEN, id, finished, 10_000);

      const ended = await cancel(b, id);
      const unknown = await cancel(b, 'no-such-run');

      expect(ended.status).toBe(409);
      expect(ended.body.type).toBe('urn:falco-alert-receiver:problem:conflict');
      expect(unknown.status).toBe(404);
      // Nothing was asked of A: its run stays as it ended.
      await new Promise((done) => setTimeout(done, CANCEL_CHECK_MS + 200));
      expect((await waitForRun(a.app, TOKEN, id, finished)).cancelRequestedAt).toBeUndefined();
      expect(await redis!.cli('--scan', '--pattern', '*cancel:*')).toBe('');
    }, 30_000);
  },
);
