import pino from 'pino';
import { Registry } from 'prom-client';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { createRedisTriggerRuns } from '../../src/store/redis-trigger-runs.js';
import { StoreUnavailableError } from '../../src/store/store-unavailable-error.js';
import { SHARED_RUNS_CALLS, type SharedRuns } from '../../src/triggers/shared-runs.js';
import { reportStoreRefusals } from '../../src/triggers/shared-store-failures.js';
import { createRefusedCallAudits } from '../../src/triggers/trigger-audit.js';
import { createTriggersRouter } from '../../src/triggers/triggers-router.js';
import type { TriggerRun } from '../../src/triggers/trigger-run.js';
import { buildTriggerApp, type TriggerApp } from '../helpers/build-trigger-app.js';
import { startKubeApiStandIn, type KubeApiStandIn } from '../helpers/kube-api-stand-in.js';
import { connectTo, redisAvailable, startRedis, untilUp, type TestRedis } from '../helpers/redis-server.js';
import { buildTestApp, metricValue } from '../helpers/test-app.js';
import { buildTriggerService } from '../helpers/trigger-service.js';
import { finished, waitForRun } from '../helpers/trigger-runs.js';

const TOKEN = 'test-token-0123456789abcdef';
const auth = { Authorization: `Bearer ${TOKEN}` };
const PREFIX = 'store-failures';
const KEY = (name: string) => `${PREFIX}:triggers:${name}`;
const PROBLEM = 'urn:falco-alert-receiver:problem:';
const REFUSALS = 'falco_trigger_store_refusals_total';

// Failures of the shared store under the trigger API, on two replicas of one Redis: an outage
// (Redis killed) and refusals (a key of another type where a trigger key is, an ACL without a
// command, a stored value that is not a run). Before, every one of them was swallowed: a list of
// this replica's runs answered as if complete, another replica's run answered 404, a refused slot
// let the run start, and nothing was logged or counted.
describe.runIf(redisAvailable())('trigger API when the shared store fails', () => {
  let redis: TestRedis | undefined;
  let api: KubeApiStandIn | undefined;
  const replicas: TriggerApp[] = [];
  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((replica) => replica.stop()));
    await redis?.stop();
    await api?.close();
    redis = undefined;
    api = undefined;
  });

  // `triggerLeaseMs` shortens the slots' and holds' lease, so a run is taken over within a test.
  const startReplica = (env: Record<string, string> = {}, options: { triggerLeaseMs?: number } = {}) => {
    const replica = buildTriggerApp(
      {
        STORE_URL: redis!.url,
        STORE_KEY_PREFIX: PREFIX,
        TRIGGERS_ENABLED: 'true',
        TRIGGER_TOKEN: TOKEN,
        TRIGGER_KUBECONFIG: api!.kubeconfigPath,
        TRIGGER_MAX_CONCURRENT: '1',
        ...env,
      },
      process.env,
      options,
    );
    replicas.push(replica);
    return replica;
  };
  // Replicas A and B on one Redis and one Kubernetes API stand-in, both links up.
  const startReplicas = async () => {
    redis = await startRedis();
    api = await startKubeApiStandIn();
    const [a, b] = [startReplica(), startReplica()];
    await new Promise((done) => setTimeout(done, 300));
    return { a, b };
  };
  // A shell run started on `replica` and ended there (the stand-in answers every call); its id.
  const endedRunOn = async (replica: TriggerApp) => {
    const started = await request(replica.app).post('/triggers/shell').set(auth).send({});
    expect(started.status).toBe(202);
    const { id } = started.body as TriggerRun;
    await waitForRun(replica.app, TOKEN, id, finished, 10_000);
    return id;
  };
  const ids = (body: { runs: TriggerRun[] }) => body.runs.map((run) => run.id);
  const refusedLines = (replica: TriggerApp) =>
    replica.logs.filter((line) => line.event === 'trigger_store_refused');
  const audits = (replica: TriggerApp, trigger: string) =>
    replica.logs.filter((line) => line.event === 'trigger_audit' && line.trigger === trigger);

  it("lists B's own runs with Redis down saying the list is partial, and answers 503 for A's run", async () => {
    const { a, b } = await startReplicas();
    const [onA, onB] = [await endedRunOn(a), await endedRunOn(b)];
    await expect
      .poll(async () => ids((await request(b.app).get('/triggers').set(auth)).body))
      .toHaveLength(2);

    await redis!.kill();
    await expect.poll(() => b.metricValue('falco_store_up', {}), { timeout: 5_000 }).toBe(0);
    const list = await request(b.app).get('/triggers').set(auth);
    const other = await request(b.app).get(`/triggers/${onA}`).set(auth);
    const own = await request(b.app).get(`/triggers/${onB}`).set(auth);
    const cancel = await request(b.app).post(`/triggers/${onA}/cancel`).set(auth);

    expect(list.status).toBe(200);
    expect(list.body).toEqual({
      runs: [expect.objectContaining({ id: onB })],
      partial: true,
      detail: "The shared store (Redis) is unavailable: only this replica's own runs are listed.",
    });
    expect(other.status).toBe(503);
    expect(other.type).toBe('application/problem+json');
    expect(other.body).toMatchObject({
      type: `${PROBLEM}service-unavailable`,
      status: 503,
      detail:
        'The shared store (Redis) is unavailable: a run another replica started cannot be read now; try again.',
    });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ id: onB });
    // Regression (review): cancel said the replica running the run could not be asked, audited
    // `unavailable`, though the run could not even be read: now as GET says it.
    expect(cancel.status).toBe(503);
    expect(cancel.body).toMatchObject({ type: `${PROBLEM}service-unavailable`, detail: other.body.detail });
    expect(audits(b, 'list').at(-1)).toMatchObject({ outcome: 'partial', status: 200 });
    expect(audits(b, 'get').at(-2)).toMatchObject({ outcome: 'store-unavailable', status: 503 });
    expect(audits(b, 'cancel')).toEqual([
      expect.objectContaining({ outcome: 'store-unavailable', status: 503 }),
    ]);
    expect(other.headers['retry-after']).toBeUndefined();
    // An outage is no refusal: the connection logs it (store_down), and falco_store_up says it.
    expect(refusedLines(b)).toEqual([]);
    expect(await b.metricValue(REFUSALS, { reason: 'other' })).toBe(0);
  }, 30_000);

  // The run read, its cancel request then meets an outage: the replica running the run could not
  // be asked, and asking again may work. (No Redis outage can be timed between the two calls: this
  // replica's link fails the request alone, as the connection fails a call when Redis goes away.)
  it("answers 503 saying to try again when the cancel request for another replica's run meets an outage", async () => {
    redis = await startRedis();
    const connection = connectTo(redis, 'cancel-outage');
    await untilUp(connection);
    const runs = () => createRedisTriggerRuns({ connection, prefix: KEY(''), maxRuns: 5, ttlMs: 60_000 });
    // Another replica's run, running and held by it.
    const startedAt = new Date().toISOString();
    const run: TriggerRun = {
      id: 'held-elsewhere',
      kind: 'shell',
      status: 'running',
      createdAt: startedAt,
      startedAt,
      target: { backend: 'docker' },
      commands: [],
      verification: { windowMs: 60_000, expectations: [] },
    };
    const other = runs();
    expect(await other.own(run.id, 60_000)).toBe(true);
    expect(await other.save(run)).toBe(true);
    const unavailable = () => Promise.reject(new StoreUnavailableError(new Error('no route to Redis')));
    const shared = { ...runs(), requestCancel: unavailable };
    const { service, registry } = buildTriggerService({}, { shared, leaseMs: 60_000 });
    const loaded = loadConfig({ TRIGGERS_ENABLED: 'true', TRIGGER_TOKEN: TOKEN });
    if (!loaded.ok) throw new Error(loaded.problems.join('; '));
    const b = buildTestApp({
      logLevel: 'info',
      triggerRouter: createTriggersRouter({
        config: loaded.config.triggers,
        service,
        registry,
        refusedCalls: createRefusedCallAudits(),
      }),
    });

    try {
      const res = await request(b.app).post(`/triggers/${run.id}/cancel`).set(auth);

      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({
        type: `${PROBLEM}service-unavailable`,
        detail:
          'The shared store (Redis) is unavailable: the replica running the run could not be asked to cancel it; try again.',
      });
      expect(b.logLines.filter((line) => line.event === 'trigger_audit')).toEqual([
        expect.objectContaining({
          trigger: 'cancel',
          outcome: 'store-unavailable',
          status: 503,
          runId: run.id,
        }),
      ]);
    } finally {
      await registry.stop();
      await connection.close();
    }
  }, 30_000);

  it("starts a run with Redis down, held to this replica's TRIGGER_MAX_CONCURRENT, and logs that it did", async () => {
    const { b } = await startReplicas();
    api!.hold = /\/exec$/;
    await redis!.kill();
    await expect.poll(() => b.metricValue('falco_store_up', {}), { timeout: 5_000 }).toBe(0);

    const first = await request(b.app).post('/triggers/shell').set(auth).send({});
    const second = await request(b.app).post('/triggers/shell').set(auth).send({});

    expect(first.status).toBe(202);
    expect(second.status).toBe(429);
    expect(b.logs.filter((line) => line.event === 'trigger_slot_unshared')).toEqual([
      expect.objectContaining({ level: 'warn', runId: first.body.id, kind: 'shell' }),
    ]);
  }, 30_000);

  it('refuses a run whose slot Redis refuses (WRONGTYPE), logging the refusal once and counting each', async () => {
    const { a } = await startReplicas();
    await redis!.cli('SET', KEY('active:shell'), 'a colliding string');
    const before = await a.metricValue(REFUSALS, { reason: 'wrongtype' });

    const first = await request(a.app).post('/triggers/shell').set(auth).send({});
    const second = await request(a.app).post('/triggers/shell').set(auth).send({});

    for (const res of [first, second]) {
      expect(res.status).toBe(503);
      expect(res.type).toBe('application/problem+json');
      expect(res.body).toMatchObject({
        type: `${PROBLEM}service-unavailable`,
        detail:
          'The shared store (Redis) refused the call (logged as trigger_store_refused): no slot could be taken, so TRIGGER_MAX_CONCURRENT could not be held across replicas. A refusal lasts until Redis is fixed.',
      });
    }
    expect((await request(a.app).get('/triggers').set(auth)).body).toEqual({ runs: [] });
    expect(api!.requests).toEqual([]);
    expect(await a.metricValue(REFUSALS, { reason: 'wrongtype' })).toBe(before + 2);
    // The first at once; the second waits for the minute's line.
    expect(refusedLines(a)).toEqual([
      expect.objectContaining({ level: 'warn', op: 'claim', reason: 'wrongtype', count: 1 }),
    ]);
    expect(audits(a, 'shell')).toEqual([
      expect.objectContaining({ outcome: 'store-refused', status: 503 }),
      expect.objectContaining({ outcome: 'store-refused', status: 503 }),
    ]);
  }, 30_000);

  it('says the list is partial when Redis refuses its index (WRONGTYPE), and answers 503 for a run key it cannot read', async () => {
    const { a, b } = await startReplicas();
    const onA = await endedRunOn(a);
    await expect.poll(async () => ids((await request(b.app).get('/triggers').set(auth)).body)).toEqual([onA]);
    await redis!.cli('SET', KEY('runs'), 'a colliding string');
    await redis!.cli('DEL', KEY(`run:${onA}`));
    await redis!.cli('HSET', KEY(`run:${onA}`), 'field', 'value');
    await redis!.cli('SET', KEY('run:not-json'), '{"id":');

    const listOnA = await request(a.app).get('/triggers').set(auth);
    const listOnB = await request(b.app).get('/triggers').set(auth);
    const runOnB = await request(b.app).get(`/triggers/${onA}`).set(auth);
    const garbled = await request(b.app).get('/triggers/not-json').set(auth);
    const cancels = [
      await request(b.app).post(`/triggers/${onA}/cancel`).set(auth),
      await request(b.app).post('/triggers/not-json/cancel').set(auth),
    ];

    const detail =
      "The shared store (Redis) refused the call (logged as trigger_store_refused): only this replica's own runs are listed.";
    expect(listOnA.status).toBe(200);
    expect(listOnA.body).toEqual({ runs: [expect.objectContaining({ id: onA })], partial: true, detail });
    expect(listOnB.body).toEqual({ runs: [], partial: true, detail });
    // Regression (review): "try again" for a refusal that lasts until someone fixes Redis; and
    // cancel answered another text, audited `unavailable`, for the same unread run.
    for (const res of [runOnB, garbled, ...cancels]) {
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({
        type: `${PROBLEM}service-unavailable`,
        detail:
          'The shared store (Redis) refused the call (logged as trigger_store_refused): a run another replica started cannot be read now. A refusal lasts until Redis is fixed.',
      });
      expect(res.body.detail).not.toMatch(/WRONGTYPE|try again/i);
    }
    expect([...audits(b, 'get'), ...audits(b, 'cancel')]).toEqual(
      Array.from({ length: 4 }, () => expect.objectContaining({ outcome: 'store-refused', status: 503 })),
    );
    expect(refusedLines(b)).toEqual([
      expect.objectContaining({ level: 'warn', op: 'list', reason: 'wrongtype', count: 1 }),
      expect.objectContaining({ level: 'warn', op: 'get', reason: 'wrongtype', count: 1 }),
      expect.objectContaining({ level: 'warn', op: 'get', reason: 'unreadable', count: 1 }),
    ]);
    expect(await b.metricValue(REFUSALS, { reason: 'wrongtype' })).toBe(3);
    expect(await b.metricValue(REFUSALS, { reason: 'unreadable' })).toBe(2);
  }, 30_000);

  // Regression: one stored run that was not a run made the whole list fail (JSON.parse), so every
  // other replica's run was left out; one that was JSON of another shape was answered 200 as a run.
  it('lists the other runs when stored runs are not runs, saying how many are left out, and answers 503 for one', async () => {
    const { a, b } = await startReplicas();
    const onA = await endedRunOn(a);
    const later = { id: 'later', kind: 'falcoctl', status: 'running', note: 'SECRET-TEXT' };
    await redis!.cli('SET', KEY('run:later'), JSON.stringify(later));
    await redis!.cli('SET', KEY('run:garbled'), '{"SECRET-TEXT');
    for (const id of ['later', 'garbled']) await redis!.cli('ZADD', KEY('runs'), String(Date.now()), id);

    const list = await request(b.app).get('/triggers').set(auth);
    const unread = await request(b.app).get('/triggers/later').set(auth);

    expect(list.status).toBe(200);
    expect(list.body).toEqual({
      runs: [expect.objectContaining({ id: onA })],
      partial: true,
      detail:
        "The shared store (Redis) holds runs this replica cannot read (another version's, or not runs; logged as trigger_store_refused): 2 stored runs not listed.",
    });
    expect(unread.status).toBe(503);
    expect(unread.type).toBe('application/problem+json');
    expect(unread.body).toMatchObject({
      type: `${PROBLEM}service-unavailable`,
      detail:
        'The shared store (Redis) refused the call (logged as trigger_store_refused): a run another replica started cannot be read now. A refusal lasts until Redis is fixed.',
    });
    expect(audits(b, 'list').at(-1)).toMatchObject({ outcome: 'partial', status: 200 });
    // Once for the list (the second run within the minute's line), once for the run read alone; both
    // say what the value is, not that Redis refused a call and the runs are unshared (found in review).
    const said =
      'a stored trigger run is not a run this replica reads (written by another version, or by hand): lists and sweeps for orphans skip it, and a read of it by id is answered 503';
    expect(refusedLines(b)).toEqual([
      expect.objectContaining({ level: 'warn', op: 'list', reason: 'unreadable', count: 1, msg: said }),
      expect.objectContaining({ level: 'warn', op: 'get', reason: 'unreadable', count: 1, msg: said }),
    ]);
    expect(refusedLines(b)[1]?.err).toMatchObject({
      message:
        'What Redis holds for trigger run "later" is not a run: kind: Invalid option: expected one of "shell"|"event-generator"',
    });
    expect(JSON.stringify(b.logs)).not.toContain('SECRET-TEXT');
    expect(await b.metricValue(REFUSALS, { reason: 'unreadable' })).toBe(3);
  }, 30_000);

  it('says the list is partial for a replica whose ACL user may not ZRANGE (NOPERM)', async () => {
    const { a } = await startReplicas();
    const onA = await endedRunOn(a);
    await redis!.cli('ACL', 'SETUSER', 'lister', 'on', '>lister-password', '~*', '&*', '+@all', '-zrange');
    const c = startReplica({ STORE_URL: `redis://lister:lister-password@127.0.0.1:${redis!.port}` });
    await new Promise((done) => setTimeout(done, 300));

    const list = await request(c.app).get('/triggers').set(auth);

    expect(list.body).toMatchObject({ runs: [], partial: true });
    expect(ids(list.body)).not.toContain(onA);
    // Its sweep for orphans (every 10 s) is refused too, as another op.
    expect(refusedLines(c).filter((line) => line.op === 'list')).toEqual([
      expect.objectContaining({ level: 'warn', op: 'list', reason: 'noperm', count: 1 }),
    ]);
    expect(await c.metricValue(REFUSALS, { reason: 'noperm' })).toBe(1);
  }, 30_000);

  it('starts no canary while Redis refuses its lease, and logs the refusal', async () => {
    redis = await startRedis();
    api = await startKubeApiStandIn();
    await redis.cli('HSET', KEY('canary-lease'), 'field', 'value');
    // A tick every 1.2 s.
    const a = startReplica({ TRIGGER_CANARY_INTERVAL_MINUTES: '0.02' });

    await expect.poll(() => refusedLines(a).length, { timeout: 5_000 }).toBe(1);
    await new Promise((done) => setTimeout(done, 1_500));

    expect(refusedLines(a)).toEqual([
      expect.objectContaining({ level: 'warn', op: 'leaseCanary', reason: 'wrongtype', count: 1 }),
    ]);
    expect(await a.metricValue(REFUSALS, { reason: 'wrongtype' })).toBeGreaterThanOrEqual(2);
    expect((await request(a.app).get('/triggers').set(auth)).body).toEqual({ runs: [] });
  }, 30_000);

  // A's shell run, ended and waiting for its alert, its stored alerts spoilt by `spoil` before A
  // crashes (then B cannot have taken the run over first); once B took it over, it says that alerts
  // went by unseen. Leases of 600 ms, so that happens within a test.
  const takenOverWithSpoiltAlerts = async (
    spoil: () => Promise<unknown>,
    verification: Record<string, unknown> = { unseenAlertsAt: expect.any(String) },
  ) => {
    redis = await startRedis();
    api = await startKubeApiStandIn();
    const leaseMs = 600;
    const env = { TRIGGER_VERIFY_WINDOW_MS: '60000' };
    const [a, b] = [
      startReplica(env, { triggerLeaseMs: leaseMs }),
      startReplica(env, { triggerLeaseMs: leaseMs }),
    ];
    await new Promise((done) => setTimeout(done, 300));
    const id = await endedRunOn(a);
    // Saved as succeeded and waiting for its alert; then A dies.
    await new Promise((done) => setTimeout(done, 400));
    await spoil();
    await a.crash();
    await expect
      .poll(async () => (await request(b.app).get(`/triggers/${id}`).set(auth)).body, {
        timeout: 10 * leaseMs,
      })
      .toMatchObject({ status: 'succeeded', verification });
    return { b, id, leaseMs };
  };

  // Regression (review): a refused read-back was swallowed (verify-run.ts), the run not resumed: its
  // hold lapsed and a sweep took it over again every lease, reading and failing each time, unsaid.
  it('takes a run over once when Redis refuses to read its stored alerts back, verifying it without them and saying so', async () => {
    // The alerts' stream made a string: every read of it is WRONGTYPE.
    const { b, id, leaseMs } = await takenOverWithSpoiltAlerts(async () => {
      await redis!.cli('DEL', `${PREFIX}:alerts`);
      await redis!.cli('SET', `${PREFIX}:alerts`, 'a colliding string');
    });
    await new Promise((done) => setTimeout(done, 5 * leaseMs));

    const run = (await request(b.app).get(`/triggers/${id}`).set(auth)).body as TriggerRun;
    expect(run.verification.expectations).toEqual([
      { rule: 'Terminal shell in container', status: 'pending' },
    ]);
    expect(b.logs.filter((line) => line.event === 'trigger_run_taken_over')).toEqual([
      expect.objectContaining({ runId: id }),
    ]);
    expect(refusedLines(b)).toEqual([
      expect.objectContaining({ level: 'warn', op: 'catchUp', reason: 'wrongtype', count: 1 }),
    ]);
    expect(await b.metricValue(REFUSALS, { reason: 'wrongtype' })).toBe(1);
  }, 30_000);

  // Regression (review): a stored alert read back that was not JSON was reported with JSON.parse's
  // SyntaxError as `err`, whose message (and stack) quotes the stored text into the log line. Since,
  // the store's reads skip such an entry (falco_store_unreadable_entries_total): it no longer fails
  // the catch-up read of every run it is among, which was then verified without its alerts.
  it('takes a run over once when a stored alert read back is not JSON, skipping that alert and logging it without its text', async () => {
    // An alert of the run's rule whose tags are not the JSON array this version writes (written by
    // hand). JSON.parse's message quoted up to the first 10 characters: the word looked for is first.
    const { b, id } = await takenOverWithSpoiltAlerts(
      () =>
        redis!.cli(
          ...['XADD', `${PREFIX}:alerts`, '*', 'id', 'hand-written', 'at', String(Date.now())],
          ...['t', String(Date.now()), 'src', 'syscall', 'rule', 'Terminal shell in container'],
          ...['pri', 'Notice', 'host', 'node', 'ns', '', 'tags', 'hunter2 is not json'],
          ...['bytes', '2', 'json', '{}'],
        ),
      { expectations: [{ rule: 'Terminal shell in container', status: 'pending' }] },
    );
    await expect
      .poll(() => b.logs.filter((line) => line.event === 'trigger_run_taken_over'))
      .toEqual([expect.objectContaining({ runId: id })]);

    // Read back whole but the skipped alert: not verified as if its alerts were unseen.
    const run = (await request(b.app).get(`/triggers/${id}`).set(auth)).body as TriggerRun;
    expect(run.verification.unseenAlertsAt).toBeUndefined();
    expect(refusedLines(b)).toEqual([]);
    expect(await b.metricValue(REFUSALS, { reason: 'unreadable' })).toBe(0);
    expect(await b.metricValue('falco_store_unreadable_entries_total', {})).toBeGreaterThan(0);
    expect(b.logs.filter((line) => line.event === 'store_entry_unreadable')).not.toEqual([]);
    // Nor any other line: the live reader's refusal of the same entry (store_read_refused) quoted it too.
    expect(JSON.stringify(b.logs)).not.toContain('hunter2');
  }, 30_000);
});

describe('reportStoreRefusals', () => {
  // Regression: only the store object's own keys were wrapped, so a store written as a class (its
  // calls on its prototype) went through unwrapped: none of its refusals was counted or logged.
  it('reports the refusals of every call of a store written as a class', async () => {
    class RefusingRuns implements SharedRuns {
      readonly retentionMs = 60_000;
      private readonly reply = 'NOPERM this user has no permissions to run the command';
      private refuse(): Promise<never> {
        return Promise.reject(new Error(this.reply));
      }
      claim() {
        return this.refuse();
      }
      renew() {
        return this.refuse();
      }
      requestCancel() {
        return this.refuse();
      }
      release() {
        return this.refuse();
      }
      own() {
        return this.refuse();
      }
      save() {
        return this.refuse();
      }
      get() {
        return this.refuse();
      }
      list() {
        return this.refuse();
      }
      orphans() {
        return this.refuse();
      }
      settleOrphan() {
        return this.refuse();
      }
      leftovers() {
        return this.refuse();
      }
      takeLeftovers() {
        return this.refuse();
      }
      leftoversRemoved() {
        return this.refuse();
      }
      leaseCanary() {
        return this.refuse();
      }
    }
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const registry = new Registry();

    const { shared } = reportStoreRefusals(new RefusingRuns(), { logger, registry });
    for (const op of SHARED_RUNS_CALLS)
      await expect((shared[op] as () => Promise<unknown>)()).rejects.toThrow(/^NOPERM /);

    expect(shared.retentionMs).toBe(60_000);
    expect(await metricValue(registry, REFUSALS, { reason: 'noperm' })).toBe(SHARED_RUNS_CALLS.length);
    expect(lines.map((line) => [line.event, line.op, line.reason])).toEqual(
      SHARED_RUNS_CALLS.map((op) => ['trigger_store_refused', op, 'noperm']),
    );
  });
});
