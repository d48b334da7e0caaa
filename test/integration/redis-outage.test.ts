import { afterEach, describe, expect, it } from 'vitest';
import { readFixture } from '../helpers/fixtures.js';
import { postAlerts } from '../helpers/post-alerts.js';
import { redisAvailable, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { killSpawned, spawnService } from '../helpers/spawn-service.js';

const hasRedis = redisAvailable();
const SAMPLE = readFixture('samples/valid/001-demo-034-terminal-shell-in-container.json');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return Number(match?.[1]);
}

async function storedIds(port: number): Promise<Set<string>> {
  const res = await fetch(`http://127.0.0.1:${port}/alerts?limit=1000`);
  if (res.status !== 200) return new Set();
  return new Set(((await res.json()) as { alerts: Array<{ id: string }> }).alerts.map((alert) => alert.id));
}

/** Posts alerts one after another until stopped; records every answer and its latency. */
function steadyStream(port: number) {
  const answers: Array<{ status: number; id?: string; ms: number; at: number }> = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const started = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}/alerts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: SAMPLE,
      });
      await res.arrayBuffer();
      const id = res.headers.get('x-alert-id') ?? undefined;
      answers.push({ status: res.status, id, ms: performance.now() - started, at: started });
      await sleep(10);
    }
  })();
  return {
    answers,
    async stop() {
      running = false;
      await done;
    },
  };
}

describe.skipIf(!hasRedis)('the Redis store when Redis hangs or crashes', () => {
  let redis: TestRedis | undefined;
  afterEach(async () => {
    killSpawned();
    await redis?.stop();
  });

  it('keeps answering 202 at once through a SIGSTOP and a kill/restart, and loses no accepted alert', async () => {
    redis = await startRedis({ appendonly: true });
    const service = await spawnService({ STORE_URL: redis.url, STORE_KEY_PREFIX: 'outage' });
    const stream = steadyStream(service.port);
    await sleep(1_000);

    redis.child().kill('SIGSTOP');
    const hungAt = performance.now();
    await sleep(3_500);
    // Hung: still alive and ready (ingest works), the store reported down.
    expect((await fetch(`http://127.0.0.1:${service.port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${service.port}/readyz`)).status).toBe(200);
    expect(await metric(service.port, 'falco_store_up')).toBe(0);
    expect(await metric(service.port, 'falco_store_pending_alerts')).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${service.port}/alerts`)).status).toBe(503);
    // The dashboard's counts say why (the page shows the problem's detail).
    const summary = await fetch(`http://127.0.0.1:${service.port}/ui/summary`);
    expect(summary.status).toBe(503);
    expect(((await summary.json()) as { detail: string }).detail).toMatch(
      /shared alert store \(Redis\) is unavailable/,
    );
    redis.child().kill('SIGCONT');
    const hungUntil = performance.now();
    await sleep(1_000);

    await redis.kill();
    await sleep(1_500);
    await redis.restart();
    await sleep(1_000);
    await stream.stop();

    const statuses = new Set(stream.answers.map((answer) => answer.status));
    expect([...statuses]).toEqual([202]);
    // The usual time: the queue takes the alert, nothing waits on Redis. An ingest that waited on
    // the hung Redis would answer after its 2 s command deadline, or the 3.5 s hang, each time; one
    // slow answer on a loaded machine is not that, so the bound is on the answers' median.
    const hung = stream.answers.filter((answer) => answer.at >= hungAt && answer.at < hungUntil - 2_000);
    expect(hung.length).toBeGreaterThan(10);
    expect(median(hung.map((answer) => answer.ms))).toBeLessThan(250);
    expect(median(stream.answers.map((answer) => answer.ms))).toBeLessThan(250);
    expect(Math.max(...stream.answers.map((answer) => answer.ms))).toBeLessThan(3_000);
    const accepted = stream.answers.map((answer) => answer.id!);
    expect(accepted.length).toBeGreaterThan(100);
    let stored = new Set<string>();
    for (let i = 0; i < 100 && accepted.some((id) => !stored.has(id)); i++) {
      await sleep(100);
      stored = await storedIds(service.port);
    }
    expect(accepted.filter((id) => !stored.has(id))).toEqual([]);
    expect(stored.size).toBe(accepted.length);
    expect(await metric(service.port, 'falco_store_up')).toBe(1);
    expect(await metric(service.port, 'falco_store_pending_alerts')).toBe(0);
    expect(await metric(service.port, 'falco_store_write_failures_total')).toBeGreaterThan(0);
  }, 60_000);

  it('bounds the queue by STORE_PENDING_MAX while Redis hangs: the oldest are dropped, counted, the newest written', async () => {
    redis = await startRedis();
    const service = await spawnService({ STORE_URL: redis.url, STORE_PENDING_MAX: '20' });
    redis.child().kill('SIGSTOP');
    const ids = await postAlerts(service.port, SAMPLE, 100);
    await sleep(2_500);
    expect(await metric(service.port, 'falco_store_pending_alerts')).toBeLessThanOrEqual(20);
    expect(await metric(service.port, 'falco_store_pending_dropped_total')).toBeGreaterThanOrEqual(80);
    // One line for the outage's first drop; the next after 1000 more (the metric counts each).
    expect(service.lines.filter((line) => line.event === 'store_pending_dropped')).toHaveLength(1);
    // Each store line names its component once.
    const storeLines = service.rawLines.filter((raw) => raw.includes('"component":"store"'));
    expect(storeLines.length).toBeGreaterThan(0);
    for (const raw of storeLines) expect(raw.split('"component":').length).toBe(2);

    redis.child().kill('SIGCONT');
    let stored = new Set<string>();
    for (let i = 0; i < 100 && !stored.has(ids.at(-1)!); i++) {
      await sleep(100);
      stored = await storedIds(service.port);
    }
    expect(ids.slice(-20).filter((id) => !stored.has(id))).toEqual([]);
    expect([...stored].filter((id) => !ids.includes(id))).toEqual([]);
    // Every alert not dropped is stored, the newest. A dropped one may be too: a write sent as
    // Redis hung (the oldest queued alerts) is carried out when it resumes, after its timeout.
    const kept = 100 - (await metric(service.port, 'falco_store_pending_dropped_total'));
    expect(ids.slice(-kept).filter((id) => !stored.has(id))).toEqual([]);
    const droppedButStored = ids.slice(0, -kept).filter((id) => stored.has(id));
    expect(droppedButStored).toEqual(ids.slice(0, droppedButStored.length));
  }, 60_000);

  // Regression: a replica stopped during a Redis outage (a rollout while Redis fails over) gave its
  // queue 2 s, then exited without a word about the alerts it had answered 202 and never written.
  it('writes its queue on SIGTERM once Redis is back within SHUTDOWN_TIMEOUT_MS', async () => {
    redis = await startRedis();
    const service = await spawnService({
      STORE_URL: redis.url,
      STORE_KEY_PREFIX: 'stop',
      SHUTDOWN_TIMEOUT_MS: '8000',
    });
    redis.child().kill('SIGSTOP');
    const ids = await postAlerts(service.port, SAMPLE, 20);
    service.child.kill('SIGTERM');
    await sleep(3_000);
    redis.child().kill('SIGCONT');

    expect(await service.exited).toBe(0);
    const stored = await redis.cli('HKEYS', 'stop:alert-ids');
    expect(ids.filter((id) => !stored.split('\n').includes(id))).toEqual([]);
    expect(service.lines.filter((line) => line.event === 'store_unwritten_at_exit')).toEqual([]);
  }, 60_000);

  it('says on SIGTERM which queued alerts it could not write while Redis stayed away', async () => {
    redis = await startRedis();
    const service = await spawnService({
      STORE_URL: redis.url,
      STORE_KEY_PREFIX: 'lost',
      SHUTDOWN_TIMEOUT_MS: '1000',
    });
    await redis.kill();
    const ids = await postAlerts(service.port, SAMPLE, 20);
    service.child.kill('SIGTERM');

    await service.exited;
    // Its last lines may still be on their way through the pipe.
    const unwritten = () => service.lines.filter((each) => each.event === 'store_unwritten_at_exit');
    for (let i = 0; i < 40 && unwritten().length === 0; i++) await sleep(50);
    const [line] = unwritten();
    expect(line).toMatchObject({ level: 'warn', count: 20, oldestAlertId: ids[0], newestAlertId: ids[19] });
    // Before the last line (it came after shutdown_complete, which the README calls the last).
    expect(service.lines.at(-1)).toMatchObject({ event: 'shutdown_complete' });
  }, 60_000);
});
