import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedisTriggerRuns, ORPHANED_RUN_ERROR } from '../../src/store/redis-trigger-runs.js';
import type { SharedRuns } from '../../src/triggers/shared-runs.js';
import type { TriggerRun } from '../../src/triggers/trigger-run.js';
import { buildTriggerApp, type TriggerApp } from '../helpers/build-trigger-app.js';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { startKubeApiStandIn, type KubeApiStandIn } from '../helpers/kube-api-stand-in.js';
import { redisAvailable, startRedis, type TestRedis, useRedisConnection } from '../helpers/redis-server.js';
import { finished, waitForRun } from '../helpers/trigger-runs.js';
import { buildTriggerService } from '../helpers/trigger-service.js';

const TOKEN = 'test-token-0123456789abcdef';
const auth = { Authorization: `Bearer ${TOKEN}` };
const LEASE_MS = 600;
const BIN = resolve('.cache/bin');
const CHART = resolve('test/fixtures/helm/event-generator-stub');
const haveHelm = requireComponent('helm (.cache/bin/helm)', commandWorks(join(BIN, 'helm'), ['version']));
// Replica A's helm: its install hangs (a Job that never completes) until A dies.
const hangingHelm = { PATH: `${resolve('test/fixtures/bin/slow-helm')}:/usr/bin:/bin` };
// The other replicas': the real helm, against the API stand-in.
const realHelm = () => ({
  PATH: `${BIN}:${process.env.PATH ?? ''}`,
  HOME: mkdtempSync(join(tmpdir(), 'orphan-helm-home-')),
});

// Regression (review): a replica that settled another's orphaned run as failed left what the run
// made where it was (its helm release, its shell pod): only a graceful shutdown named leftovers
// (trigger_cleanup_cut), and a replica that dies does not shut down.
describe.runIf(redisAvailable())('what an orphaned run left (two replicas on one Redis)', () => {
  let redis: TestRedis;
  let api: KubeApiStandIn;
  const apps: TriggerApp[] = [];
  const replica = (prefix: string, parentEnv: Record<string, string | undefined>) => {
    const app = buildTriggerApp(
      {
        STORE_URL: redis.url,
        STORE_KEY_PREFIX: prefix,
        TRIGGERS_ENABLED: 'true',
        TRIGGER_TOKEN: TOKEN,
        TRIGGER_DEFAULT_BACKEND: 'kubernetes',
        TRIGGER_KUBECONFIG: api.kubeconfigPath,
        TRIGGER_ALLOWED_NAMESPACES: 'falco-canary',
        TRIGGER_EVENT_GENERATOR_CHART: CHART,
        TRIGGER_EVENT_GENERATOR_CHART_VERSION: '',
      },
      parentEnv,
      { triggerLeaseMs: LEASE_MS },
    );
    apps.push(app);
    return app;
  };
  const cleanupLines = (replicas: TriggerApp[]) =>
    replicas.flatMap((app) => app.logs).filter((line) => line.event === 'trigger_orphan_cleaned');
  // The run as the replicas see it once its cleanup is recorded.
  const cleanedUp = (run: TriggerRun) =>
    finished(run) && ['uninstall', 'delete-pod'].includes(run.commands.at(-1)?.argv[1] ?? '');

  beforeAll(async () => {
    redis = await startRedis();
  }, 60_000);
  afterEach(async () => {
    api.hold = undefined;
    await Promise.all(apps.splice(0).map((app) => app.stop()));
    await api.close();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it.runIf(haveHelm)(
    "uninstalls, once and with normal cleanup's argv, the helm release of an event-generator run whose replica died mid-install",
    async () => {
      api = await startKubeApiStandIn();
      const a = replica('orphan-release', hangingHelm);
      const others = [replica('orphan-release', realHelm()), replica('orphan-release', realHelm())];
      const started = await request(a.app).post('/triggers/event-generator').set(auth).send({});
      expect(started.status).toBe(202);
      const id = (started.body as TriggerRun).id;
      const release = `falco-eg-${id.slice(0, 8)}`;
      await waitForRun(others[0]!.app, TOKEN, id, (run) => run.status === 'running');
      await a.crash();

      await vi.waitFor(() => expect(cleanupLines(others)).toHaveLength(1), {
        timeout: 20 * LEASE_MS + 15_000,
        interval: 50,
      });
      // Both keep sweeping: still one cleanup.
      await new Promise((done) => setTimeout(done, 3 * LEASE_MS));

      const [line] = cleanupLines(others);
      expect(cleanupLines(others)).toHaveLength(1);
      expect(line).toMatchObject({ runId: id, kind: 'event-generator', release, namespace: 'falco-canary' });
      const run = await waitForRun(others[1]!.app, TOKEN, id, cleanedUp);
      expect(run.status).toBe('failed');
      expect(run.error).toBe(ORPHANED_RUN_ERROR);
      expect(run.commands.map((c) => c.argv)).toEqual([
        [
          'helm',
          'uninstall',
          release,
          '--namespace',
          'falco-canary',
          '--kubeconfig',
          api.kubeconfigPath,
          '--ignore-not-found',
          '--wait',
          '--timeout',
          '60s',
        ],
      ]);
      // The real helm looked the release up in the cluster (its storage secrets).
      const lookups = api.requests.filter((r) => r.path === '/api/v1/namespaces/falco-canary/secrets');
      expect(lookups.map((r) => r.query.get('labelSelector'))).toContain(`name=${release},owner=helm`);
    },
    60_000,
  );

  // A shell run started on `a` whose exec never answers (it stays in its pod until `a` dies), once
  // `b` sees it running; with its pod's path.
  const startStuckShell = async (a: TriggerApp, b: TriggerApp) => {
    api.hold = /\/exec$/;
    const started = await request(a.app).post('/triggers/shell').set(auth).send({});
    expect(started.status).toBe(202);
    const id = (started.body as TriggerRun).id;
    await expect.poll(() => api.requests.some((r) => r.upgrade), { timeout: 5_000 }).toBe(true);
    await waitForRun(b.app, TOKEN, id, (run) => run.status === 'running');
    return { id, pod: `/api/v1/namespaces/falco-canary/pods/falco-trigger-${id.slice(0, 8)}` };
  };

  it('deletes the shell pod a run whose replica died mid-exec made, read first: labelled with its id', async () => {
    api = await startKubeApiStandIn();
    const a = replica('orphan-pod', {});
    const b = replica('orphan-pod', {});
    const { id, pod } = await startStuckShell(a, b);
    await a.crash();

    const run = await waitForRun(b.app, TOKEN, id, cleanedUp, 20 * LEASE_MS);

    expect(run).toMatchObject({ status: 'failed', error: ORPHANED_RUN_ERROR });
    expect(run.commands.at(-1)).toMatchObject({
      argv: ['k8s', 'delete-pod', '-n', 'falco-canary', `falco-trigger-${id.slice(0, 8)}`],
      failed: false,
      output: 'pod deleted',
    });
    const made = api.requests[0]?.body as { metadata: { uid: string } };
    const after = api.requests.filter((r) => r.path === pod && !r.upgrade).map((r) => r.method);
    expect(after.slice(-2)).toEqual(['GET', 'DELETE']);
    expect(api.requests.findLast((r) => r.method === 'DELETE')?.body).toMatchObject({
      preconditions: { uid: made.metadata.uid },
    });
    expect(api.pods.size).toBe(0);
    expect(cleanupLines([b])).toEqual([
      expect.objectContaining({ runId: id, kind: 'shell', pod: `falco-trigger-${id.slice(0, 8)}` }),
    ]);
  });

  // `a` dies while every slot of the kind is taken (TRIGGER_MAX_CONCURRENT is 1), as by another
  // replica's run: `b` settles its run, and its cleanup waits for a slot. Returns what frees them.
  const settleWithoutSlot = async (a: TriggerApp, b: TriggerApp, prefix: string, kind: string) => {
    const key = `${prefix}:triggers:active:${kind}`;
    await redis.cli('ZADD', key, String(Date.now() + 600_000), 'another-run');
    // The set lives as long as its longest lease (SLOT_SCRIPT): this one's too.
    await redis.cli('PEXPIRE', key, '600000');
    await a.crash();
    await vi.waitFor(() => expect(saying(b.logs)('trigger_run_settled')).toHaveLength(1), {
      timeout: 20 * LEASE_MS,
      interval: 50,
    });
    return async () => void (await redis.cli('ZREM', key, 'another-run'));
  };

  // Regression (review): the orphans whose leftovers were still to remove lived only in the memory of
  // the replica that settled them: it died or stopped before removing them (no slot free, or its
  // cleanup cut short), and no replica ever did; the release with its Job, or the pod, stayed.
  it('deletes, once, the shell pod of an orphan whose settling replica died before it could remove it', async () => {
    api = await startKubeApiStandIn();
    const a = replica('left-pod', {});
    const b = replica('left-pod', {});
    const { id, pod } = await startStuckShell(a, b);
    const freeSlots = await settleWithoutSlot(a, b, 'left-pod', 'shell');
    await b.crash();
    await freeSlots();

    const c = replica('left-pod', {});
    const run = await waitForRun(c.app, TOKEN, id, cleanedUp, 20 * LEASE_MS);
    // C keeps sweeping: still one cleanup.
    await new Promise((done) => setTimeout(done, 4 * LEASE_MS));

    expect(run).toMatchObject({ status: 'failed', error: ORPHANED_RUN_ERROR });
    expect(run.commands.at(-1)).toMatchObject({
      argv: ['k8s', 'delete-pod', '-n', 'falco-canary', `falco-trigger-${id.slice(0, 8)}`],
      failed: false,
    });
    expect(api.requests.filter((r) => r.path === pod && r.method === 'DELETE')).toHaveLength(1);
    expect(api.pods.size).toBe(0);
    expect(cleanupLines([b])).toEqual([]);
    expect(cleanupLines([c])).toEqual([
      expect.objectContaining({ runId: id, kind: 'shell', pod: `falco-trigger-${id.slice(0, 8)}` }),
    ]);
  });

  // Regression (review): every replica whose sweep listed a marked orphan kept it as its own to
  // remove once a slot was free, so one stopping while every slot was taken named it in
  // trigger_cleanup_cut and its shutdown said drained: false (exit 1), though it had taken or
  // started nothing, and the orphan stayed marked for the others as before.
  it('names no cleanup cut when it stops having only listed what an orphan settled elsewhere left', async () => {
    api = await startKubeApiStandIn();
    const a = replica('listed-pod', {});
    const b = replica('listed-pod', {});
    const { id } = await startStuckShell(a, b);
    const freeSlots = await settleWithoutSlot(a, b, 'listed-pod', 'shell');
    await b.crash();
    const c = replica('listed-pod', {});
    const leftovers = () => redis.cli('ZRANGE', 'listed-pod:triggers:leftovers', '0', '-1');
    // C's sweeps list it, and find no slot.
    await new Promise((done) => setTimeout(done, 4 * LEASE_MS));
    expect(await leftovers()).toBe(id);

    apps.splice(apps.indexOf(c), 1);
    expect(await c.triggers!.stop(100)).toBe(true);
    await c.stop();
    await freeSlots();

    expect(saying(c.logs)('trigger_cleanup_cut')).toEqual([]);
    expect(cleanupLines([c])).toEqual([]);
    expect(await leftovers()).toBe(id);
  });

  it.runIf(haveHelm)(
    'uninstalls, once, the release of an orphan whose settling replica stopped before it could remove it',
    async () => {
      api = await startKubeApiStandIn();
      const a = replica('left-release', hangingHelm);
      const b = replica('left-release', realHelm());
      const started = await request(a.app).post('/triggers/event-generator').set(auth).send({});
      expect(started.status).toBe(202);
      const id = (started.body as TriggerRun).id;
      const release = `falco-eg-${id.slice(0, 8)}`;
      const lookups = () =>
        api.requests.filter(
          (r) =>
            r.path === '/api/v1/namespaces/falco-canary/secrets' &&
            r.query.get('labelSelector') === `name=${release},owner=helm`,
        );
      await waitForRun(b.app, TOKEN, id, (run) => run.status === 'running');
      const freeSlots = await settleWithoutSlot(a, b, 'left-release', 'event-generator');
      await b.stop();
      apps.splice(apps.indexOf(b), 1);
      // Said as it is: another replica removes it (C below), not the operator by hand.
      expect(saying(b.logs)('trigger_cleanup_cut')).toEqual([
        expect.objectContaining({
          runId: id,
          release,
          msg: `the receiver stopped before trigger run ${id} ended its cleanup: helm release ${release} in namespace falco-canary may be left until another replica removes it (marked in the shared store: a sweep of any replica does while the run is kept)`,
        }),
      ]);
      await freeSlots();
      expect(lookups()).toEqual([]);

      const c = replica('left-release', realHelm());
      const run = await waitForRun(c.app, TOKEN, id, cleanedUp, 20 * LEASE_MS + 15_000);
      const once = lookups().length;
      await new Promise((done) => setTimeout(done, 4 * LEASE_MS));

      expect(run.commands.map((command) => command.argv.slice(0, 3))).toEqual([
        ['helm', 'uninstall', release],
      ]);
      expect(cleanupLines([b, c])).toEqual([
        expect.objectContaining({ runId: id, kind: 'event-generator', release }),
      ]);
      expect(once).toBeGreaterThan(0);
      expect(lookups()).toHaveLength(once);
    },
    60_000,
  );
});

describe('an orphan settled as its replica stops', () => {
  // Regression (review): a sweep under way when shutdown began (stopping the adoption only ends its
  // timer) settled an orphan and then began its cleanup: a helm uninstall started after stop() had
  // answered, outside the grace, with Redis closing, and no trigger_cleanup_cut named its release.
  it('starts no cleanup once the service stopped, and names what is left in trigger_cleanup_cut', async () => {
    const { service, logs } = buildTriggerService();
    const orphan = settledOrphan();
    expect(await service.stop(100)).toBe(true);

    await service.cleanUpOrphan(orphan);

    const said = saying(logs);
    await vi.waitFor(() =>
      expect([...said('trigger_cleanup_cut'), ...said('trigger_orphan_cleaned')]).not.toEqual([]),
    );
    expect(said('trigger_orphan_cleaned')).toEqual([]);
    expect(said('trigger_cleanup_cut')).toEqual([
      expect.objectContaining({ runId: orphan.id, release: 'falco-eg-0123abcd', namespace: 'falco-canary' }),
    ]);
    expect(orphan.commands).toEqual([]);
  });
});

describe.runIf(redisAvailable())('an orphan whose slot is being claimed as its replica stops', () => {
  const redis = useRedisConnection();

  it('starts no cleanup whose slot claim was under way as shutdown began, and names what is left once', async () => {
    const runs = createRedisTriggerRuns({
      connection: redis.connection(),
      prefix: 'claim-cut:',
      maxRuns: 5,
      ttlMs: 60_000,
    });
    let answer = () => {};
    const answered = new Promise<void>((resolve) => (answer = resolve));
    // Redis answers the cleanup's slot claim only once shutdown began.
    const shared = {
      ...runs,
      claim: async (...args: Parameters<SharedRuns['claim']>) => {
        await answered;
        return runs.claim(...args);
      },
    };
    const { service, logs } = buildTriggerService({}, { shared, leaseMs: LEASE_MS, childEnv: {} });
    const orphan = await markedOrphan(runs);

    const cleaning = service.cleanUpOrphan(orphan);
    const stopping = service.stop(100);
    answer();
    await cleaning;

    expect(await stopping).toBe(false);
    await new Promise((done) => setTimeout(done, 300));
    const said = saying(logs);
    expect(said('trigger_orphan_cleaned')).toEqual([]);
    expect(said('trigger_cleanup_cut')).toEqual([
      expect.objectContaining({ runId: orphan.id, release: 'falco-eg-0123abcd' }),
    ]);
    expect(orphan.commands).toEqual([]);
    // Its slot given back.
    expect(await redis.redis().cli('ZCARD', 'claim-cut:active:event-generator')).toBe('0');
  });
});

// An event-generator run that started, settled failed by this replica as its replica died.
const settledOrphan = (): TriggerRun => ({
  id: '0123abcd-0000-4000-8000-000000000000',
  kind: 'event-generator',
  status: 'failed',
  error: ORPHANED_RUN_ERROR,
  createdAt: new Date().toISOString(),
  startedAt: new Date().toISOString(),
  target: { namespace: 'falco-canary' },
  commands: [],
  verification: { windowMs: 60_000, expectations: [] },
});

// settledOrphan() as another replica settled it in `runs`: marked as leaving its release.
const markedOrphan = async (runs: SharedRuns): Promise<TriggerRun> => {
  const orphan = settledOrphan();
  expect(await runs.claim('event-generator', orphan.id, 5, 100)).toBe(true);
  await runs.save({ ...orphan, status: 'running', error: undefined });
  await new Promise((done) => setTimeout(done, 150));
  expect(await runs.settleOrphan(orphan, () => true)).toBeDefined();
  return orphan;
};

const saying = (logs: Array<Record<string, unknown>>) => (event: string) =>
  logs.filter((line) => line.event === event);

describe.runIf(redisAvailable())('an orphan two replicas try to clean up at once', () => {
  const redis = useRedisConnection();

  // Regression (review): a replica claimed the orphan's slot (its run id's, one member across
  // replicas) before it took its removal; one whose take then failed gave that slot back, the one
  // of the replica removing them: the kind's limit no longer counted that removal, and user runs
  // took its place until the remover's next renewal (a third of the lease later).
  it("keeps the removing replica's slot when another one's removal was not taken", async () => {
    const prefix = 'two-cleaners:';
    const runs = () =>
      createRedisTriggerRuns({ connection: redis.connection(), prefix, maxRuns: 5, ttlMs: 60_000 });
    const orphan = await markedOrphan(runs());
    // Their helm: an uninstall that lasts (the removal under way while the other replica's take is answered).
    const bin = mkdtempSync(join(tmpdir(), 'slow-uninstall-'));
    writeFileSync(join(bin, 'helm'), '#!/bin/sh\nsleep 3\n', { mode: 0o755 });
    const childEnv = { PATH: `${bin}:/usr/bin:/bin` };
    let answer = () => {};
    const answered = new Promise<void>((resolve) => (answer = resolve));
    // B's take is answered only once C took the removal and began it.
    const b = runs();
    let bTaking = false;
    const slowTake = {
      ...b,
      takeLeftovers: async (...args: Parameters<SharedRuns['takeLeftovers']>) => {
        bTaking = true;
        await answered;
        return b.takeLeftovers(...args);
      },
    };
    const replicaB = buildTriggerService({}, { shared: slowTake, leaseMs: 30_000, childEnv });
    const replicaC = buildTriggerService({}, { shared: runs(), leaseMs: 30_000, childEnv });

    const tryingB = replicaB.service.cleanUpOrphan(orphan);
    await vi.waitFor(() => expect(bTaking).toBe(true));
    await replicaC.service.cleanUpOrphan(orphan, true);
    answer();
    await tryingB;

    // C removes them, in the slot of the kind it claimed.
    expect(await redis.redis().cli('ZCARD', `${prefix}active:event-generator`)).toBe('1');
    expect(await replicaB.service.stop(100)).toBe(true);
    expect(await replicaC.service.stop(5_000)).toBe(true);
    expect(saying(replicaC.logs)('trigger_orphan_cleaned')).toEqual([
      expect.objectContaining({ runId: orphan.id, release: 'falco-eg-0123abcd' }),
    ]);
    expect(saying(replicaB.logs)('trigger_orphan_cleaned')).toEqual([]);
  }, 15_000);
});
