import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageOnlyAlert, readFixture } from '../helpers/fixtures.js';
import type { RedisConnection } from '../../src/store/redis-connection.js';
import { connectTo, redisAvailable, startRedis, untilUp, type TestRedis } from '../helpers/redis-server.js';
import { buildService, killSpawned, spawnService, type SpawnedService } from '../helpers/spawn-service.js';
import { openSseClient } from '../helpers/sse-client.js';

const hasRedis = redisAvailable();
const SAMPLE = readFixture('samples/valid/002-demo-034-write-below-root.json');

async function post(port: number, body: Buffer): Promise<{ status: number; id: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/alerts`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body,
  });
  return { status: res.status, id: res.headers.get('x-alert-id')! };
}

async function listIds(port: number, query = 'limit=1000'): Promise<string[]> {
  const res = await fetch(`http://127.0.0.1:${port}/alerts?${query}`);
  return ((await res.json()) as { alerts: Array<{ id: string }> }).alerts.map((alert) => alert.id);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(!hasRedis)('two receiver processes on one Redis', () => {
  let redis: TestRedis;
  let a: SpawnedService;
  let b: SpawnedService;

  beforeAll(async () => {
    redis = await startRedis();
    const env = { STORE_URL: redis.url, STORE_KEY_PREFIX: 'replicas' };
    [a, b] = await Promise.all([spawnService(env), spawnService(env)]);
  }, 60_000);
  afterAll(async () => {
    killSpawned();
    await redis?.stop();
  });

  it('lists alerts posted to either on both, in receive order, by id on both, and streams them live on both', async () => {
    const [streamA, streamB] = await Promise.all([openSseClient(a.port), openSseClient(b.port)]);
    const posted: string[] = [];
    for (let i = 0; i < 40; i++) {
      const answer = await post(i % 2 === 0 ? a.port : b.port, SAMPLE);
      expect(answer.status).toBe(202);
      posted.push(answer.id);
    }

    // One order for everyone: the stream's, which is the order they were posted in (each 202 came
    // once its alert was written).
    const listed = await listIds(a.port);
    expect(await listIds(b.port)).toEqual(listed);
    expect(listed).toEqual([...posted].reverse());
    for (const id of [posted[0]!, posted[1]!]) {
      for (const port of [a.port, b.port]) {
        const res = await fetch(`http://127.0.0.1:${port}/alerts/${id}`);
        expect(res.status).toBe(200);
        // The exact received text: the 19-digit evt.time comes back digit for digit.
        const evtTime = /"evt\.time":(\d+)/.exec(SAMPLE.toString('utf8'))?.[1];
        expect(await res.text()).toContain(`"evt.time":${evtTime}`);
      }
    }
    await Promise.all([streamA.waitFor(40), streamB.waitFor(40)]);
    expect(streamA.ids).toEqual([...listed].reverse());
    expect(streamB.ids).toEqual([...listed].reverse());
    streamA.close();
    streamB.close();
  });

  it('filters and limits as the memory store does, and replays a reconnecting stream from either', async () => {
    expect(await listIds(a.port, 'limit=3')).toEqual((await listIds(b.port)).slice(0, 3));
    expect(await listIds(b.port, 'rule=No+such+rule')).toEqual([]);
    expect((await listIds(b.port, 'min_priority=Error&hostname=nope')).length).toBe(0);
    const all = await listIds(a.port);
    const replay = await openSseClient(b.port, { 'Last-Event-ID': all[4]! });
    await replay.waitFor(4);
    expect(replay.ids).toEqual(all.slice(0, 4).reverse());
    replay.close();
  });

  it('answers the dashboard summary from the shared data on both', async () => {
    const summaries = await Promise.all(
      [a.port, b.port].map(
        async (port) =>
          (await (await fetch(`http://127.0.0.1:${port}/ui/summary?window=15m`)).json()) as { total: number },
      ),
    );
    expect(summaries.map((summary) => summary.total)).toEqual([40, 40]);
  });
});

/** Posts from `clients` loops, one request at a time each, until stopped; keeps the ids answered 202. */
function postUntilStopped(port: number, clients: number) {
  const accepted: string[] = [];
  let running = true;
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      // A killed replica cuts its connections: those requests have no answer.
      const answer = await post(port, SAMPLE).catch(() => undefined);
      if (answer === undefined) return;
      if (answer.status === 202) accepted.push(answer.id);
    }
  });
  return {
    accepted,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

describe.skipIf(!hasRedis)('a replica starting beside Redis', () => {
  let redis: TestRedis;
  afterAll(async () => {
    killSpawned();
    await redis?.stop();
  });

  // Regression: it listened before its Redis links were up (the built service loads the Redis client
  // with its first link: 0.1 to 1 s more), answering the alerts of that time from its queue alone.
  it('listens once its links to Redis are up', async () => {
    redis = await startRedis();
    const main = await buildService('replica-start');
    const service = await spawnService({ STORE_URL: redis.url, STORE_KEY_PREFIX: 'starting' }, { main });
    const beforeListening = service.lines.slice(
      0,
      service.lines.findIndex((line) => line.event === 'listening'),
    );
    const linksUp = beforeListening.filter((line) => line.event === 'store_up').map((line) => line.link);
    expect(linksUp.sort()).toEqual([
      'falco-alert-receiver',
      'falco-alert-receiver-reader',
      'falco-alert-receiver-writer',
    ]);
    const metrics = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
    expect(metrics).toMatch(/^falco_store_up 1$/m);
  }, 60_000);
});

describe.skipIf(!hasRedis)('a replica killed with SIGKILL while it takes alerts', () => {
  let redis: TestRedis;
  afterAll(async () => {
    killSpawned();
    await redis?.stop();
  });

  // Regression: the 202 went out before the alert's write, so each kill took the alerts of its last
  // turn with it (1 to 11 of those answered, with 16 clients posting), and a replica killed within
  // its first second (still connecting to Redis) took every alert it had answered.
  it('leaves every alert it answered 202 readable on the other, at once, also when killed just after starting', async () => {
    redis = await startRedis();
    const env = { STORE_URL: redis.url, STORE_KEY_PREFIX: 'killed' };
    const survivor = await spawnService(env);
    for (const answersBeforeKill of [1, 200]) {
      const victim = await spawnService(env);
      const load = postUntilStopped(victim.port, 16);
      await until(async () => load.accepted.length >= answersBeforeKill);
      victim.child.kill('SIGKILL');
      await load.stop();

      const missing = [];
      for (const id of load.accepted) {
        const res = await fetch(`http://127.0.0.1:${survivor.port}/alerts/${id}`);
        if (res.status !== 200) missing.push(id);
      }
      expect(missing).toEqual([]);
    }
  }, 60_000);

  it('answers an alert posted to one replica on the other as soon as the first answered 202', async () => {
    const env = { STORE_URL: redis.url, STORE_KEY_PREFIX: 'read-after' };
    const [a, b] = await Promise.all([spawnService(env), spawnService(env)]);
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) {
      const { id } = await post(a.port, SAMPLE);
      statuses.push((await fetch(`http://127.0.0.1:${b.port}/alerts/${id}`)).status);
    }
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
  }, 60_000);
});

describe.skipIf(!hasRedis)('DEDUP_WINDOW_MS across two replicas on one Redis', () => {
  let redis: TestRedis;
  afterAll(async () => {
    killSpawned();
    await redis?.stop();
  });

  it('stores an exact re-send once, whichever replica each copy reaches, and counts the dropped copy', async () => {
    redis = await startRedis();
    const env = { STORE_URL: redis.url, STORE_KEY_PREFIX: 'dedup', DEDUP_WINDOW_MS: '60000' };
    const [a, b] = await Promise.all([spawnService(env), spawnService(env)]);
    const other = readFixture('samples/valid/001-demo-034-terminal-shell-in-container.json');

    const first = await post(a.port, SAMPLE);
    expect(first.status).toBe(202);
    // Answered once written: A's copy is in Redis before B gets its own.
    expect(await listIds(b.port)).toEqual([first.id]);
    const resent = await post(b.port, SAMPLE);
    expect(resent.status).toBe(202);
    expect((await post(b.port, other)).status).toBe(202);

    await until(async () => (await listIds(a.port)).length === 2);
    await sleep(300);
    expect((await listIds(a.port)).length).toBe(2);
    expect((await listIds(b.port)).length).toBe(2);
    const metrics = await (await fetch(`http://127.0.0.1:${b.port}/metrics`)).text();
    expect(metrics).toMatch(/^falco_store_duplicates_dropped_total 1$/m);
    // The id B answered the dropped copy with still names the alert: the one A stored.
    const resentId = resent.id;
    const firstId = first.id;
    expect(resentId).not.toBe(firstId);
    for (const port of [a.port, b.port]) {
      const found = await fetch(`http://127.0.0.1:${port}/alerts/${resentId}`);
      expect(found.status).toBe(200);
      expect(((await found.json()) as { id: string }).id).toBe(firstId);
    }

    // Two alerts that differ only in `message` (no `output`) are two alerts on either replica.
    const alice = await post(a.port, Buffer.from(messageOnlyAlert('user=alice did X')));
    const bob = await post(b.port, Buffer.from(messageOnlyAlert('user=bob did Y')));
    await until(async () => (await listIds(a.port)).length === 4);
    const bobRead = await fetch(`http://127.0.0.1:${a.port}/alerts/${bob.id}`);
    expect(((await bobRead.json()) as { alert: { message: string } }).alert.message).toBe('user=bob did Y');
    expect(alice.id).not.toBe(bob.id);
  }, 60_000);
});

describe.skipIf(!hasRedis)('a stream reconnecting to a replica whose live reader runs behind', () => {
  let redis: TestRedis;
  let admin: RedisConnection | undefined;
  afterAll(async () => {
    killSpawned();
    await admin?.close();
    await redis?.stop();
  });

  // Regression: a replica's reader, back after its link dropped, published the alerts written
  // meanwhile, and a client that had just reconnected with Last-Event-ID got the ones at or before
  // its id again, after its replay and out of order.
  it('sends each alert once and in the stream order after a reconnect with Last-Event-ID', async () => {
    redis = await startRedis();
    // Ours, opened first: it stays while Redis refuses new connections.
    admin = connectTo(redis, 'admin');
    await untilUp(admin);
    const send = (...args: string[]) => admin!.send(args);
    const readers = async () =>
      String(await send('CLIENT', 'LIST'))
        .split('\n')
        .filter((client) => / name=falco-alert-receiver-reader /.test(client))
        .map((client) => /^id=(\d+) /.exec(client)![1]!);
    const env = { STORE_URL: redis.url, STORE_KEY_PREFIX: 'behind' };
    const a = await spawnService(env);
    await until(async () => (await readers()).length === 1);
    const [readerOfA] = await readers();
    const b = await spawnService(env);
    await until(async () => (await readers()).length === 2);
    const readerOfB = (await readers()).find((id) => id !== readerOfA)!;
    const [, maxClients] = (await send('CONFIG', 'GET', 'maxclients')) as [string, string];

    // B's reader link drops, and cannot come back while alerts are written.
    await send('CONFIG', 'SET', 'maxclients', '1');
    await send('CLIENT', 'KILL', 'ID', readerOfB);
    for (let i = 0; i < 20; i++) expect((await post(i % 2 === 0 ? a.port : b.port, SAMPLE)).status).toBe(202);
    await until(async () => (await listIds(a.port)).length === 20);
    const written = (await listIds(a.port)).reverse();
    // A client that had read up to the tenth reconnects to B: its replay is the ten after it.
    const client = await openSseClient(b.port, { 'Last-Event-ID': written[9]! });
    await client.waitFor(10);

    // B's reader comes back and publishes all twenty, then one more.
    await send('CONFIG', 'SET', 'maxclients', maxClients);
    const last = await post(a.port, SAMPLE);
    await until(async () => client.ids.includes(last.id), 20_000);
    client.close();

    expect(client.ids).toEqual([...written.slice(10), last.id]);
  }, 60_000);
});
