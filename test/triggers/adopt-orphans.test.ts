import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AlertQuery, AlertsFound } from '../../src/alerts/alert-store.js';
import type { StoredAlert } from '../../src/alerts/stored-alert.js';
import { createAlertFeed } from '../../src/alerts/alert-feed.js';
import { createMemoryAlertStore } from '../../src/alerts/memory-alert-store.js';
import { createReadBudget, type ReadBudget } from '../../src/http/read-budget.js';
import { createAlertStore } from '../../src/store/create-alert-store.js';
import { DEFAULT_TIMINGS } from '../../src/store/redis-connection.js';
import { createRedisTriggerRuns, ORPHANED_RUN_ERROR } from '../../src/store/redis-trigger-runs.js';
import {
  CATCH_UP_MAX_BYTES,
  readStoredOfRules,
  startOrphanAdoption,
} from '../../src/triggers/adopt-orphans.js';
import { CANCELLED_RUN_ERROR, STOPPED_RUN_ERROR } from '../../src/triggers/run-cancellation.js';
import { createRunRegistry } from '../../src/triggers/run-registry.js';
import type { SharedRuns } from '../../src/triggers/shared-runs.js';
import { createTriggerMetrics } from '../../src/triggers/trigger-metrics.js';
import type { TriggerRun } from '../../src/triggers/trigger-run.js';
import { createVerifier } from '../../src/triggers/verify-run.js';
import { BUSYBOX_IMAGE, dockerAndBusyboxAvailable, ensureBusyboxImage } from '../helpers/busybox-image.js';
import { buildTriggerApp, type TriggerApp } from '../helpers/build-trigger-app.js';
import { cuttable } from '../helpers/cuttable-runs.js';
import { requireComponent } from '../helpers/components.js';
import { addEntries, entryFields } from '../helpers/redis-entries.js';
import {
  connectTo,
  redisAvailable,
  startRedis,
  useRedisConnection,
  type TestRedis,
} from '../helpers/redis-server.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';
import { metricValue } from '../helpers/test-app.js';
import { buildTriggerService } from '../helpers/trigger-service.js';
import { buildTerminalShellAlert, finished, waitForRun } from '../helpers/trigger-runs.js';

const TOKEN = 'test-token-0123456789abcdef';
const auth = { Authorization: `Bearer ${TOKEN}` };
const SAMPLE = readFileSync(
  'test/fixtures/falco/samples/valid/093-latest-terminal-shell-in-container.json',
  'utf8',
);
// Short enough for a test, long enough for a docker shell run to end inside the window.
const LEASE_MS = 600;
const WINDOW_MS = 8_000;
const haveRedis = redisAvailable();
const haveDocker =
  haveRedis && requireComponent('docker (dockerd and /bin/busybox)', dockerAndBusyboxAvailable());

const hangingHelm = { PATH: `${resolve('test/fixtures/bin/slow-helm')}:/usr/bin:/bin` };
const quickDocker = { PATH: `${resolve('test/fixtures/bin/quick-docker')}:/usr/bin:/bin` };
const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

const resolved = (run: TriggerRun) =>
  run.verification?.expectations.length > 0 &&
  run.verification.expectations.every((expectation) => expectation.status !== 'pending');

describe.runIf(haveRedis)('trigger runs whose replica died (two replicas on one Redis)', () => {
  let redis: TestRedis;
  const apps: TriggerApp[] = [];
  // A replica sharing runs through the test's Redis under `prefix`, with a short slot and hold lease.
  const replica = (prefix: string, env: Record<string, string> = {}, parentEnv = process.env) => {
    const app = buildTriggerApp(
      {
        STORE_URL: redis.url,
        STORE_KEY_PREFIX: prefix,
        TRIGGERS_ENABLED: 'true',
        TRIGGER_TOKEN: TOKEN,
        TRIGGER_DEFAULT_BACKEND: 'docker',
        TRIGGER_ALLOWED_IMAGES: BUSYBOX_IMAGE,
        TRIGGER_VERIFY_WINDOW_MS: String(WINDOW_MS),
        ...env,
      },
      parentEnv,
      { triggerLeaseMs: LEASE_MS },
    );
    apps.push(app);
    return app;
  };
  // Replica A ran a shell run that succeeded and waits for its alert; then A dies.
  const runShellThenDie = async (a: TriggerApp) => {
    const started = await request(a.app).post('/triggers/shell').set(auth).send({});
    expect(started.status).toBe(202);
    const run = await waitForRun(a.app, TOKEN, started.body.id, finished);
    expect(run.status).toBe('succeeded');
    // Let A publish that state, as the review's script did before kill -9.
    await new Promise((done) => setTimeout(done, 400));
    await a.crash();
    return run;
  };

  // The shell run's result, counted by `app` once it saved the run with it (within one publish).
  const countedOnce = (app: TriggerApp, result: 'detected' | 'missed') =>
    vi.waitFor(
      async () =>
        expect(await app.metricValue('falco_trigger_verifications_total', { kind: 'shell', result })).toBe(1),
      { timeout: 2_000, interval: 50 },
    );

  beforeAll(async () => {
    if (haveDocker) ensureBusyboxImage();
    redis = await startRedis();
  }, 60_000);
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop()));
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it.runIf(haveDocker)(
    'ends missed, on every replica, a run whose replica died while it waited for its alert, once its window from the start has passed, counted by the replica that took it over',
    async () => {
      const [a, b] = [replica('died-waiting'), replica('died-waiting')];
      const run = await runShellThenDie(a);
      const windowEndsMs = Date.parse(run.startedAt!) + WINDOW_MS;

      const onB = await waitForRun(b.app, TOKEN, run.id, resolved, WINDOW_MS + 10_000);

      expect(Date.now()).toBeGreaterThanOrEqual(windowEndsMs);
      expect(onB).toMatchObject({ status: 'succeeded' });
      expect(onB.verification.expectations).toEqual([
        { rule: 'Terminal shell in container', status: 'missed' },
      ]);
      await countedOnce(b, 'missed');
      // A replica started later (A restarted) answers the same from Redis, once its link is up.
      const restarted = replica('died-waiting');
      const later = await waitForRun(restarted.app, TOKEN, run.id, resolved, 5_000);
      expect(later.verification).toEqual(onB.verification);
    },
    WINDOW_MS + 40_000,
  );

  it.runIf(haveDocker)(
    'detects a run whose replica died while it waited, by the alert Falco then posted to another replica',
    async () => {
      const [a, b] = [replica('died-alert-elsewhere'), replica('died-alert-elsewhere')];
      const run = await runShellThenDie(a);
      // Falco's alert reaches B before B takes the run over (A's hold has not lapsed yet).
      const posted = await request(b.app)
        .post('/alerts')
        .set('Content-Type', 'application/json')
        .send(
          buildTerminalShellAlert(SAMPLE, `sh -c tty && echo falco-receiver-canary-${run.nonce}`, 'default'),
        );
      expect(posted.status).toBe(202);

      const onB = await waitForRun(b.app, TOKEN, run.id, resolved, WINDOW_MS + 10_000);

      expect(onB.verification.expectations).toEqual([
        expect.objectContaining({ status: 'detected', alertId: posted.headers['x-alert-id'] }),
      ]);
      await countedOnce(b, 'detected');
      expect(
        await b.metricValue(
          'falco_trigger_detection_latency_seconds',
          { kind: 'shell' },
          'falco_trigger_detection_latency_seconds_count',
        ),
      ).toBe(1);
    },
    WINDOW_MS + 40_000,
  );

  it('fails a run whose replica died while it ran, once its slot lapsed, its expectations not_run', async () => {
    const hangingHelm = { PATH: `${resolve('test/fixtures/bin/slow-helm')}:/usr/bin:/bin` };
    const env = { TRIGGER_KUBECONFIG: '/nonexistent/kubeconfig' };
    const [a, b] = [replica('died-running', env, hangingHelm), replica('died-running', env)];
    const started = await request(a.app).post('/triggers/event-generator').set(auth).send({});
    expect(started.status).toBe(202);
    const running = await waitForRun(
      b.app,
      TOKEN,
      started.body.id,
      (run) => run.status === 'running' && run.verification.expectations.length > 0,
    );
    await a.crash();

    const onB = await waitForRun(b.app, TOKEN, running.id, finished, 10 * LEASE_MS);

    expect(onB).toMatchObject({ status: 'failed', error: ORPHANED_RUN_ERROR });
    expect(onB.verification.expectations.map((expectation) => expectation.status)).toEqual(
      running.verification.expectations.map(() => 'not_run'),
    );
  });

  // Regression (review): such a run was only read as failed; no replica counted it in
  // falco_trigger_runs_total (its own replica never ended it), unlike a run that fails on its replica.
  it('counts a run whose replica died while it ran as failed once, on the one replica that failed it', async () => {
    const hangingHelm = { PATH: `${resolve('test/fixtures/bin/slow-helm')}:/usr/bin:/bin` };
    const env = { TRIGGER_KUBECONFIG: '/nonexistent/kubeconfig' };
    const a = replica('died-running-counted', env, hangingHelm);
    const others = [replica('died-running-counted', env), replica('died-running-counted', env)];
    const started = await request(a.app).post('/triggers/event-generator').set(auth).send({});
    expect(started.status).toBe(202);
    await waitForRun(others[0]!.app, TOKEN, started.body.id, (run) => run.status === 'running');
    await a.crash();
    const failed = { kind: 'event-generator', outcome: 'failed' };
    const counts = () =>
      Promise.all(others.map((other) => other.metricValue('falco_trigger_runs_total', failed)));

    await vi.waitFor(async () => expect((await counts()).sort()).toEqual([0, 1]), {
      timeout: 10 * LEASE_MS,
      interval: 50,
    });
    // Both keep sweeping (every third of the lease): still counted once.
    await new Promise((done) => setTimeout(done, 3 * LEASE_MS));

    expect((await counts()).sort()).toEqual([0, 1]);
    expect(await a.metricValue('falco_trigger_runs_total', failed)).toBe(0);
    const settled = others
      .flatMap((other) => other.logs)
      .filter((line) => line.event === 'trigger_run_settled');
    expect(settled).toEqual([expect.objectContaining({ runId: started.body.id, kind: 'event-generator' })]);
    // Saved failed in Redis, not only read so: out of the index of unsettled runs.
    expect(await redis.cli('ZRANGE', 'died-running-counted:triggers:open', '0', '-1')).toBe('');
    // Its release uninstalled by the replica that settled it: failed here (no cluster), and named.
    const cleaned = (run: TriggerRun) => finished(run) && run.commands.at(-1)?.argv[1] === 'uninstall';
    const release = `helm release falco-eg-${String(started.body.id).slice(0, 8)} in namespace default`;
    const run = await waitForRun(others[1]!.app, TOKEN, started.body.id, cleaned);
    expect(run.status).toBe('failed');
    expect(run.error?.startsWith(`${ORPHANED_RUN_ERROR}; removing ${release} failed: helm exited`)).toBe(
      true,
    );
  });

  // Regression: a run whose replica died while its cancelled run cleaned up was settled by another
  // replica as any orphan, failed with the generic error and counted outcome="failed".
  it('ends a cancelled run whose replica died mid-cleanup cancelled on request, counted cancelled by the replica that settles it', async () => {
    // The fixture helm: install hangs, uninstall (never cancelled) takes 5 s.
    const slowUninstall = { PATH: `${resolve('test/fixtures/bin/slow-uninstall-helm')}:/usr/bin:/bin` };
    const env = { TRIGGER_KUBECONFIG: '/nonexistent/kubeconfig' };
    const [a, b] = [replica('died-cancelled', env, slowUninstall), replica('died-cancelled', env)];
    const cancelled = { kind: 'event-generator', outcome: 'cancelled' };
    const failed = { kind: 'event-generator', outcome: 'failed' };
    const before = await Promise.all([
      b.metricValue('falco_trigger_runs_total', cancelled),
      b.metricValue('falco_trigger_runs_total', failed),
    ]);
    const started = await request(a.app).post('/triggers/event-generator').set(auth).send({});
    expect(started.status).toBe(202);
    await waitForRun(b.app, TOKEN, started.body.id, (run) => run.status === 'running');
    const accepted = await request(b.app).post(`/triggers/${started.body.id}/cancel`).set(auth);
    expect(accepted.status).toBe(202);
    // A read the request, stopped the install and is in its 5 s uninstall when it dies.
    await waitForRun(b.app, TOKEN, started.body.id, (run) => run.commands.length === 2);
    await a.crash();

    const onB = await waitForRun(b.app, TOKEN, started.body.id, finished, 10 * LEASE_MS);

    expect(onB).toMatchObject({
      status: 'failed',
      error: `${CANCELLED_RUN_ERROR}: ${ORPHANED_RUN_ERROR}`,
      cancelRequestedAt: accepted.body.cancelRequestedAt,
    });
    await vi.waitFor(
      async () => expect(await b.metricValue('falco_trigger_runs_total', cancelled)).toBe(before[0]! + 1),
      { timeout: 10 * LEASE_MS, interval: 50 },
    );
    expect(await b.metricValue('falco_trigger_runs_total', failed)).toBe(before[1]);
    expect(b.logs.filter((line) => line.event === 'trigger_run_settled')).toEqual([
      expect.objectContaining({ runId: started.body.id, outcome: 'cancelled' }),
    ]);
    // Saved so, not only read so: a replica started later reads the same from Redis.
    const later = replica('died-cancelled', env);
    // (Followed by its helm uninstall's failure: the replica that settled it tried it, without a cluster.)
    const saved = await waitForRun(later.app, TOKEN, started.body.id, finished, 5_000);
    expect(saved.error?.startsWith(onB.error!)).toBe(true);
  });
});

describe.runIf(haveRedis)('runs taken over on one Redis (replicas built in the test)', () => {
  const redis = useRedisConnection();
  const sharedRuns = (prefix: string, ttlMs = 60_000) =>
    createRedisTriggerRuns({ connection: redis.connection(), prefix, maxRuns: 5, ttlMs });
  const failed = { kind: 'event-generator', outcome: 'failed' };
  // A replica that only takes runs over: its sweep, its registry and its metrics.
  const sweeper = (
    shared: SharedRuns,
    query: (query: AlertQuery) => Promise<AlertsFound> = async () => ({ alerts: [] }),
    readBudget?: ReadBudget,
  ) => {
    const metrics = new Registry();
    const triggerMetrics = createTriggerMetrics(metrics);
    const registry = createRunRegistry(5, shared, { leaseMs: LEASE_MS });
    const verifier = createVerifier({
      metrics: triggerMetrics,
      windowMs: 60_000,
      count: (run, record) => registry.count(run, record),
    });
    const stop = startOrphanAdoption({
      shared,
      registry,
      verifier,
      metrics: triggerMetrics,
      alerts: { query },
      readBudget,
      leaseMs: LEASE_MS,
      logger: pino({ level: 'silent' }),
    });
    return {
      registry,
      verifier,
      metrics,
      async stop() {
        stop();
        await registry.stop();
      },
    };
  };
  // An event-generator run on a replica linked by `link`, whose helm install hangs; saved running.
  const startHangingRun = async (link: { shared: SharedRuns }, view: SharedRuns) => {
    const built = buildTriggerService({}, { shared: link.shared, leaseMs: LEASE_MS, childEnv: hangingHelm });
    const started = await built.service.start({
      kind: 'event-generator',
      namespace: 'default',
      actions: '^syscall',
    });
    if (!started.ok) throw new Error('the run did not start');
    await vi.waitFor(async () => expect((await view.get(started.run.id))?.status).toBe('running'), {
      timeout: 5_000,
      interval: 20,
    });
    return { ...built, run: started.run };
  };

  // Regression (review): a run that ended on a replica cut off from Redis for longer than its lease
  // was counted there (it ended it) and by the replica that had settled it as failed meanwhile.
  it('counts a run that ended on a replica cut off from Redis past its lease once, by the replica that settled it', async () => {
    const view = sharedRuns('cut-off:');
    const a = cuttable(sharedRuns('cut-off:'));
    const onA = await startHangingRun(a, view);
    const b = sweeper(sharedRuns('cut-off:'));

    a.cut = true;
    await vi.waitFor(
      async () => expect(await metricValue(b.metrics, 'falco_trigger_runs_total', failed)).toBe(1),
      {
        timeout: 10 * LEASE_MS,
        interval: 50,
      },
    );
    // Still cut off, A ends the run (its shutdown cancels the install); then its link is back.
    await onA.service.stop(5_000);
    expect(onA.run).toMatchObject({ status: 'failed', error: `${STOPPED_RUN_ERROR}: helm was cancelled` });
    a.cut = false;
    await onA.registry.stop();
    await b.stop();

    expect(await metricValue(onA.metrics, 'falco_trigger_runs_total', failed)).toBe(0);
    expect(await metricValue(b.metrics, 'falco_trigger_runs_total', failed)).toBe(1);
    expect(await view.get(onA.run.id)).toMatchObject({ status: 'failed', error: ORPHANED_RUN_ERROR });
  });

  // Regression (review): cut off from Redis for longer than STORE_RETENTION, a replica found the run
  // it had lost, its hold and the verdict of the replica that settled it expired: its save went
  // through, and it counted the run again.
  it('gives up, uncounted, a run it was cut off from Redis from for longer than the retention, which another replica settled and counted', async () => {
    const retentionMs = 8 * LEASE_MS;
    const view = sharedRuns('cut-off-long:', retentionMs);
    const a = cuttable(sharedRuns('cut-off-long:', retentionMs));
    const onA = await startHangingRun(a, view);
    // A holds the run a while after it last saved it: the run, settled, must outlive that hold too.
    await sleep(3 * LEASE_MS);
    const b = sweeper(sharedRuns('cut-off-long:', retentionMs));

    a.cut = true;
    await vi.waitFor(
      async () => expect(await metricValue(b.metrics, 'falco_trigger_runs_total', failed)).toBe(1),
      { timeout: 10 * LEASE_MS, interval: 50 },
    );
    await vi.waitFor(async () => expect(await view.get(onA.run.id)).toBeUndefined(), {
      timeout: 2 * retentionMs,
      interval: 50,
    });
    // Still cut off, A ends the run; then its link is back.
    await onA.service.stop(5_000);
    a.cut = false;
    await onA.registry.stop();
    await b.stop();

    expect(await metricValue(onA.metrics, 'falco_trigger_runs_total', failed)).toBe(0);
    expect(await metricValue(b.metrics, 'falco_trigger_runs_total', failed)).toBe(1);
    expect(await view.get(onA.run.id)).toBeUndefined();
  });

  it('counts a run that ended while its replica was cut off from Redis once its end is saved', async () => {
    const view = sharedRuns('cut-briefly:');
    const a = cuttable(sharedRuns('cut-briefly:'));
    const onA = await startHangingRun(a, view);

    a.cut = true;
    await onA.service.stop(5_000);
    expect(await metricValue(onA.metrics, 'falco_trigger_runs_total', failed)).toBe(0);
    a.cut = false;
    await onA.registry.stop();

    expect(await metricValue(onA.metrics, 'falco_trigger_runs_total', failed)).toBe(1);
    expect(await view.get(onA.run.id)).toMatchObject({
      status: 'failed',
      error: `${STOPPED_RUN_ERROR}: helm was cancelled`,
    });
  });

  // A shell run that succeeded on a replica linked by `link` (docker stands in) and waits for its alert.
  const startWaitingRun = async (link: { shared: SharedRuns }, view: SharedRuns, windowMs: number) => {
    const built = buildTriggerService(
      { TRIGGER_VERIFY_WINDOW_MS: String(windowMs) },
      { shared: link.shared, leaseMs: LEASE_MS, childEnv: quickDocker },
    );
    const target = { backend: 'docker', namespace: 'default', image: 'busybox:1.36' } as const;
    const started = await built.service.start({ kind: 'shell', target });
    if (!started.ok) throw new Error('the run did not start');
    await vi.waitFor(async () => expect((await view.get(started.run.id))?.status).toBe('succeeded'), {
      timeout: 5_000,
      interval: 20,
    });
    return { ...built, run: started.run };
  };

  // Regression (review): a replica cut off from Redis past its lease went on verifying its run and
  // counted its verdict, and so did the replica that took the run over meanwhile.
  it.each(['missed', 'detected'] as const)(
    'counts the %s verdict of a run taken over from a replica cut off from Redis once, by the replica that took it over',
    async (result) => {
      const prefix = `verified-once-${result}:`;
      const view = sharedRuns(prefix);
      const a = cuttable(sharedRuns(prefix));
      const onA = await startWaitingRun(a, view, 8 * LEASE_MS);
      const b = sweeper(sharedRuns(prefix));

      a.cut = true;
      await vi.waitFor(() => expect(b.registry.has(onA.run.id)).toBe(true), {
        timeout: 10 * LEASE_MS,
        interval: 20,
      });
      // Falco's alert reaches both: A (posted to it) and B (from the shared stream).
      if (result === 'detected') {
        const now = Date.now();
        const alert = makeStoredAlert(
          { output_fields: { 'proc.cmdline': `sh -c tty && echo falco-receiver-canary-${onA.run.nonce}` } },
          { receivedAtMs: now, timeMs: now },
        );
        onA.verifier.observeAlert(alert);
        b.verifier.observeAlert(alert);
      }
      const counted = { kind: 'shell', result };
      await vi.waitFor(
        async () =>
          expect(await metricValue(b.metrics, 'falco_trigger_verifications_total', counted)).toBe(1),
        { timeout: 20 * LEASE_MS, interval: 50 },
      );
      await vi.waitFor(() => expect(onA.run.verification.expectations[0]?.status).toBe(result), {
        timeout: 10 * LEASE_MS,
        interval: 20,
      });
      // A is back once B settled the run and no longer renews its hold.
      await sleep(2 * LEASE_MS);
      a.cut = false;
      await onA.service.stop(5_000);
      await onA.registry.stop();
      await b.stop();

      expect(await metricValue(onA.metrics, 'falco_trigger_verifications_total', counted)).toBe(0);
      expect(await metricValue(b.metrics, 'falco_trigger_verifications_total', counted)).toBe(1);
      expect((await view.get(onA.run.id))?.verification.expectations).toEqual([
        expect.objectContaining({ status: result }),
      ]);
    },
  );

  // A shell run that succeeded and waits for its alert, saved by a replica whose hold then lapses.
  const savedWaiting = async (prefix: string): Promise<TriggerRun> => {
    const gone = sharedRuns(prefix);
    const startedAt = new Date().toISOString();
    const run: TriggerRun = {
      id: `${prefix}waiting`,
      kind: 'shell',
      nonce: `${prefix}nonce`,
      status: 'succeeded',
      createdAt: startedAt,
      startedAt,
      target: { backend: 'docker' },
      commands: [],
      verification: {
        windowMs: 60_000,
        expectations: [{ rule: 'Terminal shell in container', status: 'pending' }],
      },
    };
    expect(await gone.own(run.id, LEASE_MS)).toBe(true);
    expect(await gone.save(run)).toBe(true);
    return run;
  };
  // A replica whose read-back of stored alerts takes four leases and finds `found`.
  const slowReader = (prefix: string, found: StoredAlert[] = []) => {
    const state = { reading: false };
    const replica = sweeper(sharedRuns(prefix), async () => {
      state.reading = true;
      await sleep(4 * LEASE_MS);
      return { alerts: found };
    });
    return Object.assign(replica, state, {
      untilReading: () =>
        vi.waitFor(() => expect(state.reading).toBe(true), { timeout: 10 * LEASE_MS, interval: 20 }),
    });
  };

  // Regression (review): the hold a takeover takes was renewed only once the stored alerts were read
  // back (up to 8 MiB): a read longer than the lease let another replica take the same run over too.
  it('holds a run it takes over while its stored alerts are read back past the lease, so no other replica takes it too', async () => {
    const run = await savedWaiting('slow-read:');
    const b = slowReader('slow-read:');
    await b.untilReading();
    const readByC: string[] = [];
    const c = sweeper(sharedRuns('slow-read:'), async (query) => {
      readByC.push(query.rule ?? '');
      return { alerts: [] };
    });

    await vi.waitFor(() => expect(b.registry.has(run.id)).toBe(true), {
      timeout: 10 * LEASE_MS,
      interval: 20,
    });
    await sleep(LEASE_MS);
    await Promise.all([b.stop(), c.stop()]);

    expect(readByC).toEqual([]);
    expect(c.registry.has(run.id)).toBe(false);
    expect(b.registry.has(run.id)).toBe(true);
  });

  it('does not resume a run that another replica took while its stored alerts were read back', async () => {
    const run = await savedWaiting('read-lost:');
    const now = Date.now();
    const shellAlert = makeStoredAlert(
      { output_fields: { 'proc.cmdline': `sh -c tty && echo ${run.nonce}` } },
      { receivedAtMs: now, timeMs: now },
    );
    const b = slowReader('read-lost:', [shellAlert]);
    await b.untilReading();

    // As after an outage of B's link longer than the lease: its hold expired and another took the run.
    // In one step: B renews its hold every third of the lease and takes it again while it is free,
    // as it should (nobody took the run), so a DEL then a take by another failed when B came between.
    const other = await redis
      .redis()
      .cli('SET', `read-lost:owner:${run.id}`, 'another-replica', 'PX', '60000');
    expect(other).toBe('OK');
    await sleep(5 * LEASE_MS);
    await b.stop();

    expect(b.registry.has(run.id)).toBe(false);
    const detected = { kind: 'shell', result: 'detected' };
    expect(await metricValue(b.metrics, 'falco_trigger_verifications_total', detected)).toBe(0);
    expect(await sharedRuns('read-lost:').get(run.id)).toMatchObject({
      verification: { expectations: [{ status: 'pending' }] },
    });
  });

  // Regression: the read-back of a run taken over held its alerts outside the readers' budget
  // (QUERY_MAX_INFLIGHT_BYTES), on top of the lists and replays it bounds.
  it("reads a run's stored alerts back within the readers' budget, put off while readers hold it", async () => {
    const run = await savedWaiting('read-budget:');
    const budget = createReadBudget(
      {
        maxInflightBytes: 32 * MiB,
        maxInflightBytesPerAddress: 32 * MiB,
        stallMs: 10_000,
        maxPinnedBytes: 1e9,
      },
      new Registry(),
    );
    const releaseReaders = budget.reserve(32 * MiB - 1, '192.0.2.1')!;
    const heldWhileReading: number[] = [];
    const b = sweeper(
      sharedRuns('read-budget:'),
      async () => {
        heldWhileReading.push(budget.inflight());
        return { alerts: [] };
      },
      budget,
    );

    await sleep(4 * LEASE_MS);
    const whileFull = { read: heldWhileReading.length, taken: b.registry.has(run.id) };
    releaseReaders();
    await vi.waitFor(() => expect(b.registry.has(run.id)).toBe(true), {
      timeout: 10 * LEASE_MS,
      interval: 20,
    });
    await b.stop();

    expect(whileFull).toEqual({ read: 0, taken: false });
    expect(heldWhileReading).toEqual([CATCH_UP_MAX_BYTES]);
    expect(budget.inflight()).toBe(0);
  });

  // Regression: the read-back takes each rule's newest alerts within its share; a busy rule (other
  // users' shells) could push the run's own alert past it, and the run was then judged missed as if
  // every alert since its start had been read, without saying any was left.
  it.each([
    ['stopped at its share with alerts since the start still to read', 0, true],
    ['read back to alerts older than the start', -60_000, false],
  ] as const)('says alerts may have gone unseen when the read-back %s', async (_, offsetMs, unseen) => {
    const prefix = `read-back-${String(unseen)}:`;
    const run = await savedWaiting(prefix);
    const receivedAtMs = Date.parse(run.startedAt!) + offsetMs;
    const other = makeStoredAlert({ output_fields: { 'proc.cmdline': 'sh' } }, { receivedAtMs });
    const b = sweeper(sharedRuns(prefix), async () => ({ alerts: [other], cut: true }));
    await vi.waitFor(() => expect(b.registry.has(run.id)).toBe(true), {
      timeout: 10 * LEASE_MS,
      interval: 20,
    });
    const lookup = await b.registry.get(run.id);
    const taken = 'run' in lookup ? lookup.run : undefined;
    await b.stop();

    expect(taken?.verification.expectations).toEqual([expect.objectContaining({ status: 'pending' })]);
    expect(taken?.verification.unseenAlertsAt !== undefined).toBe(unseen);
  });

  // An event-generator run saved running `ageMs` ago by a replica that then stopped.
  const savedRunning = async (prefix: string, name: string, ageMs = 0): Promise<TriggerRun> => {
    const startedAt = new Date(Date.now() - ageMs).toISOString();
    const run: TriggerRun = {
      id: `${prefix}${name}`,
      kind: 'event-generator',
      status: 'running',
      createdAt: startedAt,
      startedAt,
      target: { namespace: 'default' },
      commands: [],
      verification: { windowMs: 60_000, expectations: [{ rule: 'Some rule', status: 'pending' }] },
    };
    const gone = sharedRuns(prefix);
    expect(await gone.own(run.id, LEASE_MS)).toBe(true);
    expect(await gone.save(run)).toBe(true);
    return run;
  };
  // A sweeper's sweeps, until it settled one orphan as failed and took `waiting` over.
  const sweepUntilSettledAndTaken = async (prefix: string, waiting: TriggerRun) => {
    const b = sweeper(sharedRuns(prefix));
    await vi.waitFor(
      async () => {
        expect(await metricValue(b.metrics, 'falco_trigger_runs_total', failed)).toBe(1);
        expect(b.registry.has(waiting.id)).toBe(true);
      },
      { timeout: 10 * LEASE_MS, interval: 50 },
    );
    await b.stop();
  };
  const orphanedError = { status: 'failed', error: ORPHANED_RUN_ERROR };

  // Regression (review): one orphan whose call Redis refused ended the whole sweep, so while the
  // refusal lasted the orphans listed after it were never settled nor taken over.
  it('settles and takes over the orphans listed after one whose settling Redis refuses (WRONGTYPE)', async () => {
    const prefix = 'one-refused:';
    // Listed oldest first: the refused one, then one to settle; the waiting one is the newest.
    const refused = await savedRunning(prefix, 'refused', 2_000);
    const settled = await savedRunning(prefix, 'settled', 1_000);
    const waiting = await savedWaiting(prefix);
    // Its cancel request a hash: every settling of it is WRONGTYPE.
    await redis.redis().cli('HSET', `${prefix}cancel:${refused.id}`, 'field', 'value');

    await sweepUntilSettledAndTaken(prefix, waiting);

    expect(await sharedRuns(prefix).get(settled.id)).toMatchObject(orphanedError);
    // Only the refused one is left unsettled (the waiting one is settled once its window ends).
    const open = await redis.redis().cli('ZRANGE', `${prefix}open`, '0', '-1');
    expect(open.split('\n').sort()).toEqual([refused.id, waiting.id].sort());
  });

  // Regression: the sweep read every unsettled run with JSON.parse and a cast, so one stored value
  // that was not a run (not JSON, or another version's) made it throw: no orphan was settled nor
  // taken over while that value was kept.
  it('settles and takes over the orphans listed with stored values that are not runs', async () => {
    const prefix = 'not-runs:';
    const running = await savedRunning(prefix, 'running');
    const waiting = await savedWaiting(prefix);
    // Listed first (oldest): a value that is not JSON, and a run without its verification.
    const cli = (...args: string[]) => redis.redis().cli(...args);
    await cli('SET', `${prefix}run:garbled`, 'not json');
    const partial = { ...running, id: 'partial', verification: undefined };
    await cli('SET', `${prefix}run:partial`, JSON.stringify(partial));
    for (const id of ['garbled', 'partial']) await cli('ZADD', `${prefix}open`, '1', id);

    await sweepUntilSettledAndTaken(prefix, waiting);

    expect(await sharedRuns(prefix).get(running.id)).toMatchObject(orphanedError);
  });
});

describe('readStoredOfRules (the alerts read back for a run taken over)', () => {
  it('reads at most CATCH_UP_MAX_BYTES for all the rules of a run together, shared out evenly', async () => {
    const store = createMemoryAlertStore({ maxAlerts: 100_000, maxBytes: 1e9 });
    // 20 rules with 600 KB of alerts each (30 KB apiece): 12 MB, each rule within the whole budget.
    const rules = Array.from({ length: 20 }, (_, index) => `Rule ${index}`);
    for (const rule of rules)
      for (let i = 0; i < 20; i++) store.add(makeStoredAlert({ rule }, { bytes: 30_000 }));

    const { alerts: read, partial } = await readStoredOfRules(store, rules);

    expect(partial).toBe(true);
    const bytes = read.reduce((sum, entry) => sum + entry.bytes, 0);
    // Each rule's share: the alert that crosses it is dropped.
    expect(bytes).toBeLessThanOrEqual(CATCH_UP_MAX_BYTES);
    const perRule = new Map(rules.map((rule) => [rule, read.filter((entry) => entry.rule === rule).length]));
    expect(new Set(perRule.values()).size).toBe(1);
    expect(perRule.get('Rule 0')).toBeGreaterThan(0);
  });

  // Regression: a shared store's read cut at its bound on entries read (a flood of other rules'
  // alerts since the run's start) before it found any of the rule's told nothing of where it stopped,
  // and was taken for one that read back past the start: partial only without a start.
  it("says a rule's read was partial when the store cut it before any alert of the rule", async () => {
    const cutEmpty = { query: async () => ({ alerts: [], cut: true as const }) };
    const whole = { query: async () => ({ alerts: [] }) };

    expect((await readStoredOfRules(cutEmpty, ['Rule 0'], Date.now() - 60_000)).partial).toBe(true);
    expect((await readStoredOfRules(cutEmpty, ['Rule 0'])).partial).toBe(true);
    expect((await readStoredOfRules(whole, ['Rule 0'], Date.now() - 60_000)).partial).toBe(false);
  });

  it("reads a rule's alerts whatever Falco's event time says (a node's clock an hour behind ours)", async () => {
    const store = createMemoryAlertStore({ maxAlerts: 100, maxBytes: 1e6 });
    const lagging = makeStoredAlert({ rule: 'Rule 0' }, { timeMs: Date.now() - 3_600_000 });
    store.add(lagging);
    store.add(makeStoredAlert({ rule: 'Rule 1' }));

    expect((await readStoredOfRules(store, ['Rule 0'])).alerts.map((entry) => entry.id)).toEqual([
      lagging.id,
    ]);
  });
});

describe.runIf(haveRedis)('readStoredOfRules with the shared store', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  // The shared store on `keyPrefix`, once it is up.
  const sharedStore = async (keyPrefix: string) => {
    const parts = createAlertStore({
      config: {
        maxAlerts: 10_000,
        maxBytes: 32 * MiB,
        redis: {
          target: { kind: 'url', url: redis.url },
          keyPrefix,
          retentionMs: 3_600_000,
          pendingMax: 100,
        },
      },
      dedupWindowMs: 0,
      feed: createAlertFeed(() => undefined),
      registry: new Registry(),
      logger: pino({ level: 'silent' }),
    });
    await vi.waitFor(() => expect(parts.store.available()).toBe(true), { timeout: 10_000, interval: 20 });
    return parts;
  };

  // Regression: each rule's read kept the alert that crossed its share, so a run waiting for many
  // rules held one such alert per rule: 58 rules (event-generator's ^syscall) of one 1.75 MiB alert
  // each read back 101.5 MiB with Redis (112 MiB of the process's memory), against 8 MiB.
  it('holds no more than CATCH_UP_MAX_BYTES and one alert past it, whatever the number of rules', async () => {
    const parts = await sharedStore('catch-up');
    const { store } = parts;
    // 20 rules, each with one alert of about a whole body (BODY_LIMIT_BYTES): 35 MiB in all.
    const alertBytes = 1792 * 1024;
    const rules = Array.from({ length: 20 }, (_, index) => `Rule ${index}`);
    for (const rule of rules) {
      const receivedAtMs = Date.now();
      store.add(
        makeStoredAlert(
          { rule, output: 'x'.repeat(alertBytes - 400) },
          { bytes: alertBytes, receivedAtMs, receivedAt: new Date(receivedAtMs).toISOString() },
        ),
      );
      // One at a time: the writes waiting for Redis are bounded by STORE_MAX_BYTES.
      await store.flush();
    }

    const { alerts: read, partial } = await readStoredOfRules(store, rules).finally(() => parts.close());

    expect(read.reduce((sum, entry) => sum + entry.bytes, 0)).toBeLessThanOrEqual(
      CATCH_UP_MAX_BYTES + alertBytes,
    );
    expect(partial).toBe(true);
  });

  // Regression (review): each rule's read kept the alert that crossed its share, and it was taken
  // from what the rules read after it were left: 58 rules, each with older alerts of 2,892 bytes
  // past its share (earlier runs, e.g. the canary's), spent the budget before the last rule, whose
  // alert of the run was left unread, and the run was judged to have missed it.
  it("reads every rule's newest alerts within its share, whatever the rules read before it kept", async () => {
    const parts = await sharedStore('every-rule');
    // Written over a connection of ours: 58 redis-cli processes started at once took longer than
    // their 5 s each on a loaded machine (the whole suite on 2 CPUs), and the test failed before it
    // read anything. A script of 60 entries is a moment's work for Redis.
    const writer = connectTo(redis, 'every-rule-writer', { ...DEFAULT_TIMINGS, commandTimeoutMs: 30_000 });
    await vi.waitFor(() => expect(writer.isUp()).toBe(true), { timeout: 10_000, interval: 20 });
    const overWriter = { cli: async (...args: string[]) => String(await writer.send(args)) };
    const rules = Array.from({ length: 58 }, (_, index) => `Rule ${index}`);
    // The run's start, and the alerts' receipt times on either side of it: set, not read off the
    // clock between sleeps.
    const startMs = Date.now();
    const alertText = (rule: string, id: string, atMs: number) => {
      const alert = {
        rule,
        priority: 'Notice',
        source: 'syscall',
        time: new Date(atMs).toISOString(),
        output: '',
      };
      const output = 'x'.repeat(2892 - Buffer.byteLength(JSON.stringify(alert)));
      return entryFields(id, rule, '2892', JSON.stringify({ ...alert, output }), atMs);
    };
    const write = (count: number, suffix: string, atMs: number) =>
      Promise.all(
        rules.map((rule) =>
          addEntries(overWriter, 'every-rule', count, alertText(rule, `${rule} ${suffix}`, atMs)),
        ),
      );
    await write(60, 'earlier', startMs - 60_000)
      .then(() => write(1, 'of the run', startMs))
      .finally(() => writer.close());

    const { alerts: read, partial } = await readStoredOfRules(parts.store, rules, startMs).finally(() =>
      parts.close(),
    );

    const ofTheRun = read.filter((entry) => entry.id.endsWith(' of the run')).map((entry) => entry.rule);
    expect(ofTheRun.sort()).toEqual([...rules].sort());
    expect(partial).toBe(false);
    expect(read.reduce((sum, entry) => sum + entry.bytes, 0)).toBeLessThanOrEqual(CATCH_UP_MAX_BYTES);
  }, 60_000);
});
