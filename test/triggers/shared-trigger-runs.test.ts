import { readFileSync } from 'node:fs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, dockerAndBusyboxAvailable, ensureBusyboxImage } from '../helpers/busybox-image.js';
import { buildTriggerApp, type TriggerApp } from '../helpers/build-trigger-app.js';
import { requireComponent } from '../helpers/components.js';
import { redisAvailable, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { buildTerminalShellAlert, finished, waitForRun } from '../helpers/trigger-runs.js';

const TOKEN = 'test-token-0123456789abcdef';
const auth = { Authorization: `Bearer ${TOKEN}` };
const SAMPLE = readFileSync(
  'test/fixtures/falco/samples/valid/093-latest-terminal-shell-in-container.json',
  'utf8',
);
const haveParts =
  redisAvailable() && requireComponent('docker (dockerd and /bin/busybox)', dockerAndBusyboxAvailable());

// The alert Falco sends for a shell run's nonce command, posted to `app`.
const postNonceAlert = (app: TriggerApp, run: { nonce?: string }) =>
  request(app.app)
    .post('/alerts')
    .set('Content-Type', 'application/json')
    .send(buildTerminalShellAlert(SAMPLE, `sh -c tty && echo falco-receiver-canary-${run.nonce}`, 'default'));
// The run as `app` answers for it once its expectation is detected.
const waitForDetection = (app: TriggerApp, id: string) =>
  waitForRun(app.app, TOKEN, id, (r) => r.verification?.expectations[0]?.status === 'detected');

describe.runIf(haveParts)('trigger runs shared by two replicas on one Redis (docker backend)', () => {
  let redis: TestRedis;
  let a: TriggerApp;
  let b: TriggerApp;

  beforeAll(async () => {
    ensureBusyboxImage();
    redis = await startRedis();
    const env = {
      STORE_URL: redis.url,
      STORE_KEY_PREFIX: 'shared-triggers',
      TRIGGERS_ENABLED: 'true',
      TRIGGER_TOKEN: TOKEN,
      TRIGGER_DEFAULT_BACKEND: 'docker',
      TRIGGER_ALLOWED_IMAGES: BUSYBOX_IMAGE,
      TRIGGER_VERIFY_WINDOW_MS: '20000',
      TRIGGER_MAX_CONCURRENT: '1',
    };
    [a, b] = [buildTriggerApp(env), buildTriggerApp(env)];
    // Both links up before the test starts.
    await new Promise((resolve) => setTimeout(resolve, 300));
  }, 60_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  it('holds the per-kind limit across replicas, verifies a run started on A by its alert posted to B, and B shows it', async () => {
    const started = await request(a.app).post('/triggers/shell').set(auth).send({});
    expect(started.status).toBe(202);
    // TRIGGER_MAX_CONCURRENT=1 counts A's run on B too.
    expect((await request(b.app).post('/triggers/shell').set(auth).send({})).status).toBe(429);

    const run = await waitForRun(a.app, TOKEN, started.body.id, finished);
    expect(run.status).toBe('succeeded');
    const posted = await postNonceAlert(b, run);
    expect(posted.status).toBe(202);

    const onB = await waitForDetection(b, run.id);
    expect(onB).toMatchObject({
      id: run.id,
      status: 'succeeded',
      target: { backend: 'docker', image: BUSYBOX_IMAGE },
    });
    expect(onB.verification.expectations[0]).toMatchObject({
      rule: 'Terminal shell in container',
      alertId: posted.headers['x-alert-id'],
    });
    expect(
      (await request(b.app).get('/triggers').set(auth)).body.runs.map((r: { id: string }) => r.id),
    ).toContain(run.id);
    // The slot is free again once the run ended, on either replica.
    const next = await request(b.app).post('/triggers/shell').set(auth).send({});
    expect(next.status).toBe(202);
    await waitForRun(b.app, TOKEN, next.body.id, finished);
  }, 60_000);

  it('marks a run waiting on A when A missed alerts, and B answers the mark in the run and the list', async () => {
    const started = await request(a.app).post('/triggers/shell').set(auth).send({});
    expect(started.status).toBe(202);
    const run = await waitForRun(a.app, TOKEN, started.body.id, finished);
    expect(run.verification.expectations[0]?.status).toBe('pending');

    a.feed.publishGap({ through: [Date.now(), 0] });

    const marked = (r: { verification?: { unseenAlertsAt?: string } }) =>
      r.verification?.unseenAlertsAt !== undefined;
    const onB = await waitForRun(b.app, TOKEN, run.id, marked);
    const onA = (await request(a.app).get(`/triggers/${run.id}`).set(auth)).body;
    expect(onB.verification.unseenAlertsAt).toBe(onA.verification.unseenAlertsAt);
    const listed = (await request(b.app).get('/triggers').set(auth)).body.runs.find(
      (r: { id: string }) => r.id === run.id,
    );
    expect(listed.verification.unseenAlertsAt).toBe(onA.verification.unseenAlertsAt);
    // Detected after all (the alert came): the mark stays, the verdict is the alert's.
    await postNonceAlert(a, run);
    expect((await waitForDetection(b, run.id)).verification.unseenAlertsAt).toBe(
      onA.verification.unseenAlertsAt,
    );
  }, 60_000);

  it('verifies a run on the replica that ran it while Redis does not answer', async () => {
    const started = await request(a.app).post('/triggers/shell').set(auth).send({});
    expect(started.status).toBe(202);
    const run = await waitForRun(a.app, TOKEN, started.body.id, finished);
    expect(run.status).toBe('succeeded');

    redis.child().kill('SIGSTOP');
    try {
      const posted = await postNonceAlert(a, run);
      expect(posted.status).toBe(202);

      const verified = await waitForDetection(a, run.id);
      expect(verified.verification.expectations[0]?.alertId).toBe(posted.headers['x-alert-id']);
    } finally {
      redis.child().kill('SIGCONT');
    }
  }, 60_000);
});
