import { readFileSync } from 'node:fs';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { BUSYBOX_IMAGE, dockerAndBusyboxAvailable, ensureBusyboxImage } from '../helpers/busybox-image.js';
import { buildTriggerApp, type TriggerApp } from '../helpers/build-trigger-app.js';
import { runCommand } from '../../src/runners/run-command.js';
import { STOPPED_RUN_ERROR } from '../../src/triggers/run-cancellation.js';
import { requireComponent } from '../helpers/components.js';
import { startKubeApiStandIn, type KubeApiStandIn } from '../helpers/kube-api-stand-in.js';
import { buildTerminalShellAlert, finished, waitForRun } from '../helpers/trigger-runs.js';

const TOKEN = 'test-token-0123456789abcdef';
const auth = { Authorization: `Bearer ${TOKEN}` };
const SAMPLE = readFileSync(
  'test/fixtures/falco/samples/valid/093-latest-terminal-shell-in-container.json',
  'utf8',
);
const RULE = 'Terminal shell in container';

let built: TriggerApp | undefined;
let api: KubeApiStandIn | undefined;
afterEach(async () => {
  await built?.stop();
  await api?.close();
  built = undefined;
  api = undefined;
});

const postAlert = (app: TriggerApp['app'], body: string) =>
  request(app).post('/alerts').set('Content-Type', 'application/json').send(body);

/** Triggers on, against the API stand-in `api` started by the test, with `extra` settings. */
const kubeTriggers = (extra: Record<string, string> = {}) =>
  buildTriggerApp({
    TRIGGERS_ENABLED: 'true',
    TRIGGER_TOKEN: TOKEN,
    TRIGGER_KUBECONFIG: api!.kubeconfigPath,
    ...extra,
  });

describe('shell trigger, kubernetes backend, against a recording API stand-in', () => {
  it('creates a pod, execs the nonce shell with a TTY, deletes the pod, and verifies the posted alert', async () => {
    api = await startKubeApiStandIn();
    built = kubeTriggers({
      TRIGGER_ALLOWED_NAMESPACES: 'falco-canary',
      TRIGGER_VERIFY_WINDOW_MS: '30000',
    });
    const before = await built.metricValue('falco_trigger_verifications_total', {
      kind: 'shell',
      result: 'detected',
    });

    const res = await request(built.app).post('/triggers/shell').set(auth).send({ backend: 'kubernetes' });
    expect(res.status).toBe(202);
    expect(res.headers.location).toBe(`/triggers/${res.body.id}`);
    expect(res.body).toMatchObject({
      kind: 'shell',
      target: { backend: 'kubernetes', namespace: 'falco-canary', image: 'busybox:1.36' },
    });
    const run = await waitForRun(built.app, TOKEN, res.body.id, finished);

    expect(run.status).toBe('succeeded');
    expect(run.commands.map((c) => c.argv[1])).toEqual([
      'create-pod',
      'wait-pod-running',
      'exec',
      'delete-pod',
    ]);
    const exec = api.requests.find((r) => r.upgrade);
    expect(exec?.path).toMatch(
      /^\/api\/v1\/namespaces\/falco-canary\/pods\/falco-trigger-[0-9a-f]{8}\/exec$/,
    );
    expect(exec?.query.get('tty')).toBe('true');
    expect(exec?.query.getAll('command').join(' ')).toContain(`falco-receiver-canary-${run.nonce}`);
    expect(api.requests.at(-1)?.method).toBe('DELETE');
    expect(run.commands[2]?.output).toContain(`falco-receiver-canary-${run.nonce}`);
    expect(run.verification.expectations).toEqual([{ rule: RULE, status: 'pending' }]);

    const cmdline = `sh -c tty && echo falco-receiver-canary-${run.nonce}`;
    expect(
      (await postAlert(built.app, buildTerminalShellAlert(SAMPLE, cmdline, 'falco-canary'))).status,
    ).toBe(202);
    const verified = await waitForRun(
      built.app,
      TOKEN,
      run.id,
      (r) => r.verification.expectations[0]?.status !== 'pending',
    );

    const [expectation] = verified.verification.expectations;
    expect(expectation?.status).toBe('detected');
    expect(expectation?.alertId).toMatch(/^[0-9a-f-]{36}$/);
    expect(expectation?.latencyMs).toBeGreaterThanOrEqual(0);
    expect(
      await built.metricValue('falco_trigger_verifications_total', { kind: 'shell', result: 'detected' }),
    ).toBe(before + 1);
    expect(await built.metricValue('falco_trigger_runs_total', { kind: 'shell', outcome: 'succeeded' })).toBe(
      1,
    );
    expect(
      await built.metricValue(
        'falco_trigger_detection_latency_seconds',
        { kind: 'shell' },
        'falco_trigger_detection_latency_seconds_count',
      ),
    ).toBe(1);
  });

  // Regression: a run waiting for an alert the shared store removed before this replica read it
  // ended missed without a word.
  it('logs and marks the runs waiting for alerts when the feed has a gap', async () => {
    api = await startKubeApiStandIn();
    built = kubeTriggers({ TRIGGER_ALLOWED_NAMESPACES: 'falco-canary', TRIGGER_VERIFY_WINDOW_MS: '30000' });
    const res = await request(built.app).post('/triggers/shell').set(auth).send({ backend: 'kubernetes' });
    const run = await waitForRun(built.app, TOKEN, res.body.id, finished);
    expect(run.verification.expectations).toEqual([{ rule: RULE, status: 'pending' }]);

    built.feed.publishGap({ through: [Date.now(), 0] });

    expect(built.logs.filter((line) => line.event === 'trigger_alerts_unseen')).toEqual([
      expect.objectContaining({ level: 'warn', runIds: [run.id] }),
    ]);
    // And the run says so to whoever reads it.
    const read = await request(built.app).get(`/triggers/${run.id}`).set(auth);
    expect(read.status).toBe(200);
    expect(Date.parse(read.body.verification.unseenAlertsAt)).toBeGreaterThan(Date.now() - 10_000);
    expect(read.body.verification.expectations).toEqual([{ rule: RULE, status: 'pending' }]);
  });

  // Regression: the gap's time was its stream id's, on Redis's clock, compared with the run's start
  // on this process's: with Redis's node a minute behind, a gap of alerts stored after the run began
  // read as older than the run, and the run ended missed without a word.
  it("marks the run for a gap stored after its start though Redis's clock runs a minute behind", async () => {
    api = await startKubeApiStandIn();
    built = kubeTriggers({ TRIGGER_ALLOWED_NAMESPACES: 'falco-canary', TRIGGER_VERIFY_WINDOW_MS: '30000' });
    const res = await request(built.app).post('/triggers/shell').set(auth).send({ backend: 'kubernetes' });
    const run = await waitForRun(built.app, TOKEN, res.body.id, finished);

    built.feed.publishGap({ through: [Date.now() - 60_000, 0], storedAtMs: Date.now() });

    expect(built.logs.filter((line) => line.event === 'trigger_alerts_unseen')).toEqual([
      expect.objectContaining({ level: 'warn', runIds: [run.id] }),
    ]);
  });

  it('deletes the pod a silent API server may have made when the create times out', async () => {
    api = await startKubeApiStandIn();
    api.hold = /\/pods$/;
    built = kubeTriggers({
      TRIGGER_ALLOWED_NAMESPACES: 'falco-canary',
      TRIGGER_COMMAND_TIMEOUT_MS: '500',
    });

    const res = await request(built.app).post('/triggers/shell').set(auth).send({ backend: 'kubernetes' });
    const run = await waitForRun(built.app, TOKEN, res.body.id, finished);

    expect(run).toMatchObject({ status: 'failed', error: 'create-pod timed out' });
    expect(run.commands.map((c) => c.argv[1])).toEqual(['create-pod', 'delete-pod']);
    expect(api.requests.map((r) => r.method)).toEqual(['POST', 'GET']);
    expect(run.commands[1]?.output).toBe('pod not found (nothing to delete)');
  });

  // Regression: only a create that timed out or was cancelled was followed by a delete. One the API
  // server answered 5xx after making the pod (a webhook or storage write that timed out) left the
  // pod in the namespace, Failed once its deadline passed, until someone removed it.
  it('deletes the pod the API server made before it answered the create 504', async () => {
    api = await startKubeApiStandIn();
    api.createStatus = 504;
    built = kubeTriggers({ TRIGGER_ALLOWED_NAMESPACES: 'falco-canary' });

    const res = await request(built.app).post('/triggers/shell').set(auth).send({ backend: 'kubernetes' });
    const run = await waitForRun(built.app, TOKEN, res.body.id, finished);

    expect(run).toMatchObject({ status: 'failed', error: 'the Kubernetes API answered 504: timed out' });
    expect(run.commands.map((c) => [c.argv[1], c.failed])).toEqual([
      ['create-pod', true],
      ['delete-pod', false],
    ]);
    expect(run.commands[1]?.output).toBe('pod deleted');
    // Read first: only a pod labelled with this run's id is deleted, and only that very pod (its uid).
    expect(api.requests.map((r) => r.method)).toEqual(['POST', 'GET', 'DELETE']);
    const made = api.requests[0]?.body as { metadata: { uid: string; labels: Record<string, string> } };
    expect(made.metadata.labels['falco-alert-receiver/run-id']).toBe(run.id);
    expect(api.requests[2]?.body).toMatchObject({ preconditions: { uid: made.metadata.uid } });
  });

  it('sends no delete after a create the API server refused (403): it made nothing', async () => {
    api = await startKubeApiStandIn();
    api.createStatus = 403;
    built = kubeTriggers({ TRIGGER_ALLOWED_NAMESPACES: 'falco-canary' });

    const res = await request(built.app).post('/triggers/shell').set(auth).send({ backend: 'kubernetes' });
    const run = await waitForRun(built.app, TOKEN, res.body.id, finished);

    expect(run).toMatchObject({ status: 'failed', error: 'the Kubernetes API answered 403: refused' });
    expect(api.requests.map((r) => r.method)).toEqual(['POST']);
  });

  // Regression: a create answered 409 (the name is another pod's: a run whose 8-hex prefix is the
  // same, or someone else's) was followed by a DELETE of that name, removing a pod this run never made.
  it("leaves alone the pod that holds the run's pod name when the create is answered 409", async () => {
    api = await startKubeApiStandIn();
    api.takenBy = { 'falco-alert-receiver/run-id': 'another-run' };
    built = kubeTriggers({ TRIGGER_ALLOWED_NAMESPACES: 'falco-canary' });

    const res = await request(built.app).post('/triggers/shell').set(auth).send({ backend: 'kubernetes' });
    const run = await waitForRun(built.app, TOKEN, res.body.id, finished);

    const name = `falco-trigger-${run.id.slice(0, 8)}`;
    expect(run).toMatchObject({
      status: 'failed',
      error: `the Kubernetes API answered 409: pods "${name}" already exists`,
    });
    expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /api/v1/namespaces/falco-canary/pods',
      `GET /api/v1/namespaces/falco-canary/pods/${name}`,
    ]);
    expect(run.commands.at(-1)).toMatchObject({ argv: ['k8s', 'delete-pod', '-n', 'falco-canary', name] });
    expect(run.commands.at(-1)?.output).toBe(`pod ${name} is not this run's (left alone)`);
    expect(api.pods.has(`falco-canary/${name}`)).toBe(true);
  });

  it('sends no delete after a create answered 409 for a pod that is gone when read', async () => {
    api = await startKubeApiStandIn();
    api.createStatus = 409;
    built = kubeTriggers({ TRIGGER_ALLOWED_NAMESPACES: 'falco-canary' });

    const res = await request(built.app).post('/triggers/shell').set(auth).send({ backend: 'kubernetes' });
    const run = await waitForRun(built.app, TOKEN, res.body.id, finished);

    expect(run).toMatchObject({ status: 'failed', error: 'the Kubernetes API answered 409: refused' });
    expect(api.requests.map((r) => r.method)).toEqual(['POST', 'GET']);
  });

  // Regression: an exec whose upgrade was never answered held the run, and the kind's slot, for good.
  it('fails a run whose exec the API server never answers at the command timeout, deletes the pod, and frees the slot', async () => {
    api = await startKubeApiStandIn();
    api.hold = /\/exec$/;
    built = kubeTriggers({
      TRIGGER_COMMAND_TIMEOUT_MS: '1000',
    });

    const res = await request(built.app).post('/triggers/shell').set(auth).send({ backend: 'kubernetes' });
    const run = await waitForRun(built.app, TOKEN, res.body.id, finished, 10_000);

    expect(run).toMatchObject({ status: 'failed', error: 'exec timed out after 1000 ms' });
    expect(run.commands.map((c) => c.argv[1])).toEqual([
      'create-pod',
      'wait-pod-running',
      'exec',
      'delete-pod',
    ]);
    expect(api.requests.at(-1)?.method).toBe('DELETE');
    expect((await request(built.app).post('/triggers/shell').set(auth).send({})).status).toBe(202);
  });

  // Regression: the run ended succeeded with its pod left in the cluster (only a step said so).
  it('fails a run whose pod could not be deleted, naming it, after a shell that did its part', async () => {
    api = await startKubeApiStandIn();
    api.hold = /\/pods\/[^/]+$/;
    api.holdMethod = 'DELETE';
    built = kubeTriggers({ TRIGGER_COMMAND_TIMEOUT_MS: '1500' });

    const res = await request(built.app).post('/triggers/shell').set(auth).send({ backend: 'kubernetes' });
    const run = await waitForRun(built.app, TOKEN, res.body.id, finished, 10_000);

    expect(run.commands.map((c) => [c.argv[1], c.failed])).toEqual([
      ['create-pod', false],
      ['wait-pod-running', false],
      ['exec', false],
      ['delete-pod', true],
    ]);
    expect(run).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/^deleting pod falco-trigger-\w+ failed: delete-pod timed out/),
    });
    expect(await built.metricValue('falco_trigger_runs_total', { kind: 'shell', outcome: 'failed' })).toBe(1);
  });

  it('cancels a hanging exec on shutdown and still deletes the pod', async () => {
    api = await startKubeApiStandIn();
    api.hold = /\/exec$/;
    built = kubeTriggers();
    const res = await request(built.app).post('/triggers/shell').set(auth).send({ backend: 'kubernetes' });
    await expect.poll(() => api?.requests.some((r) => r.upgrade)).toBe(true);

    await built.triggers?.stop(5_000);

    const run = await waitForRun(built.app, TOKEN, res.body.id, finished, 1_000);
    expect(run).toMatchObject({ status: 'failed', error: `${STOPPED_RUN_ERROR}: exec cancelled` });
    expect(run.commands.at(-1)).toMatchObject({
      argv: expect.arrayContaining(['delete-pod']),
      failed: false,
    });
    expect(api.requests.at(-1)?.method).toBe('DELETE');
  });

  it('still deletes the pod when the exec fails, and fails the run with the reason', async () => {
    api = await startKubeApiStandIn();
    api.podPhase = 'Failed';
    built = kubeTriggers();
    const res = await request(built.app).post('/triggers/shell').set(auth).send({ backend: 'kubernetes' });
    const run = await waitForRun(built.app, TOKEN, res.body.id, finished);
    expect(run.status).toBe('failed');
    expect(run.error).toContain('pod ended (Failed)');
    expect(run.commands.map((c) => c.argv[1])).toEqual(['create-pod', 'wait-pod-running', 'delete-pod']);
    expect(api.requests.at(-1)?.method).toBe('DELETE');
    expect(await built.metricValue('falco_trigger_runs_total', { kind: 'shell', outcome: 'failed' })).toBe(1);
  });

  it('fails the run with a clear reason when the API server is unreachable, and ingest stays healthy', async () => {
    api = await startKubeApiStandIn();
    const kubeconfig = api.kubeconfigPath;
    await api.close();
    api = undefined;
    built = buildTriggerApp({
      TRIGGERS_ENABLED: 'true',
      TRIGGER_TOKEN: TOKEN,
      TRIGGER_KUBECONFIG: kubeconfig,
    });
    const res = await request(built.app).post('/triggers/shell').set(auth).send({});
    const run = await waitForRun(built.app, TOKEN, res.body.id, finished);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/Kubernetes API/);
    expect((await postAlert(built.app, SAMPLE)).status).toBe(202);
  });
});

const haveDocker = requireComponent('docker (dockerd and /bin/busybox)', dockerAndBusyboxAvailable());

describe.runIf(haveDocker)('shell trigger, docker backend, against a real dockerd', () => {
  /** Triggers on, the docker backend with the local busybox image, a 2.5 s window, and `extra`. */
  const dockerTriggers = (extra: Record<string, string> = {}) => {
    ensureBusyboxImage();
    return buildTriggerApp({
      TRIGGERS_ENABLED: 'true',
      TRIGGER_TOKEN: TOKEN,
      TRIGGER_DEFAULT_BACKEND: 'docker',
      TRIGGER_ALLOWED_IMAGES: BUSYBOX_IMAGE,
      TRIGGER_VERIFY_WINDOW_MS: '2500',
      ...extra,
    });
  };

  it('runs the nonce shell with a terminal, then marks the expectation missed when no matching alert arrives', async () => {
    built = dockerTriggers();
    const res = await request(built.app).post('/triggers/shell').set(auth).send({});
    expect(res.status).toBe(202);
    const run = await waitForRun(built.app, TOKEN, res.body.id, finished);
    expect(run.status).toBe('succeeded');
    expect(run.target).toEqual({ backend: 'docker', image: BUSYBOX_IMAGE });
    expect(run.commands[0]?.argv.slice(0, 4)).toEqual(['docker', 'run', '--rm', '-t']);
    expect(run.commands[0]?.output).toMatch(/^\/dev\/pts\/\d+/);
    expect(run.commands[0]?.output).toContain(`falco-receiver-canary-${run.nonce}`);

    // A terminal-shell alert for another shell (no nonce) must not count for this run.
    await postAlert(built.app, buildTerminalShellAlert(SAMPLE, 'bash', 'default'));
    const verified = await waitForRun(
      built.app,
      TOKEN,
      run.id,
      (r) => r.verification.expectations[0]?.status !== 'pending',
    );
    expect(verified.verification).toEqual({
      windowMs: 2500,
      expectations: [{ rule: RULE, status: 'missed' }],
    });
    expect(
      await built.metricValue('falco_trigger_verifications_total', { kind: 'shell', result: 'missed' }),
    ).toBe(1);
    expect(
      await built.metricValue('falco_trigger_verifications_total', { kind: 'shell', result: 'detected' }),
    ).toBe(0);
  });

  // A control that holds is not a canary missed, and one Falco reported is not a canary detected:
  // counted in falco_trigger_verifications_total they turned FalcoCanaryDetectionsMissing upside down.
  it('counts negative controls apart: quiet when missed, reported when its alert arrives', async () => {
    built = dockerTriggers();
    const control = async (report: boolean) => {
      const res = await request(built!.app).post('/triggers/shell').set(auth).send({ terminal: false });
      expect(res.status).toBe(202);
      const run = await waitForRun(built!.app, TOKEN, res.body.id, finished);
      expect(run.status).toBe('succeeded');
      const cmdline = `sh -c ! tty && echo falco-receiver-canary-${run.nonce}`;
      if (report) await postAlert(built!.app, buildTerminalShellAlert(SAMPLE, cmdline, 'default'));
      return waitForRun(
        built!.app,
        TOKEN,
        run.id,
        (r) => r.verification.expectations[0]?.status !== 'pending',
      );
    };
    const value = (name: string, labels: Record<string, string>) => built!.metricValue(name, labels);

    expect((await control(false)).verification.expectations[0]?.status).toBe('missed');
    expect((await control(true)).verification.expectations[0]?.status).toBe('detected');

    expect(await value('falco_trigger_controls_total', { result: 'quiet' })).toBe(1);
    expect(await value('falco_trigger_controls_total', { result: 'reported' })).toBe(1);
    for (const result of ['missed', 'detected'])
      expect(await value('falco_trigger_verifications_total', { kind: 'shell', result })).toBe(0);
  });

  // Regression: runs still in their window were never dropped, so TRIGGER_MAX_RUNS=5 kept 59 runs
  // verifying (each a watch with up to 1 MiB of held alerts) after 60 quick starts.
  it('starts no run while TRIGGER_MAX_RUNS runs still verify, and lists at most that many', async () => {
    built = dockerTriggers({ TRIGGER_MAX_RUNS: '2', TRIGGER_VERIFY_WINDOW_MS: '60000' });
    const start = () => request(built!.app).post('/triggers/shell').set(auth).send({});
    for (let i = 0; i < 2; i++) {
      const res = await start();
      expect(res.status).toBe(202);
      await waitForRun(built.app, TOKEN, res.body.id, finished);
    }

    const refused = await start();

    expect(refused.status).toBe(429);
    expect(refused.body.detail).toContain('TRIGGER_MAX_RUNS');
    const listed = await request(built.app).get('/triggers').set(auth);
    expect(listed.body.runs).toHaveLength(2);
  });

  it('execs the nonce shell with a terminal into an existing, allow-listed container', async () => {
    ensureBusyboxImage();
    const name = `falco-trigger-target-${process.pid}`;
    const env = { PATH: process.env.PATH ?? '' };
    const started = await runCommand(
      [
        'docker',
        'run',
        '-d',
        '--rm',
        '--name',
        name,
        '--network',
        'none',
        '--user',
        '65534:65534',
        BUSYBOX_IMAGE,
        'sleep',
        '60',
      ],
      { timeoutMs: 30_000, maxOutputChars: 500, env },
    );
    expect(started.failed).toBe(false);
    try {
      built = buildTriggerApp({
        TRIGGERS_ENABLED: 'true',
        TRIGGER_TOKEN: TOKEN,
        TRIGGER_DEFAULT_BACKEND: 'docker',
        TRIGGER_ALLOWED_CONTAINERS: name,
      });
      const res = await request(built.app).post('/triggers/shell').set(auth).send({ container: name });
      expect(res.status).toBe(202);
      const run = await waitForRun(built.app, TOKEN, res.body.id, finished);
      expect(run.status).toBe('succeeded');
      expect(run.commands[0]?.argv.slice(0, 4)).toEqual(['docker', 'exec', '-t', name]);
      expect(run.commands[0]?.output).toMatch(/^\/dev\/pts\/\d+/);
      expect(run.commands[0]?.output).toContain(`falco-receiver-canary-${run.nonce}`);
    } finally {
      await runCommand(['docker', 'rm', '--force', name], { timeoutMs: 30_000, maxOutputChars: 500, env });
    }
  });
});
