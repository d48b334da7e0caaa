import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import type { TriggerRun } from '../../src/triggers/trigger-run.js';
import { buildTriggerApp, type TriggerApp } from '../helpers/build-trigger-app.js';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { startKubeApiStandIn, type KubeApiStandIn } from '../helpers/kube-api-stand-in.js';
import { finished, waitForRun } from '../helpers/trigger-runs.js';

const TOKEN = 'test-token-0123456789abcdef';
const auth = { Authorization: `Bearer ${TOKEN}` };
const BIN = resolve('.cache/bin');
const CHART = resolve('test/fixtures/helm/event-generator-stub');
const haveHelm = requireComponent('helm (.cache/bin/helm)', commandWorks(join(BIN, 'helm'), ['version']));

let built: TriggerApp | undefined;
let standIn: KubeApiStandIn | undefined;
afterEach(async () => {
  if (standIn) standIn.hold = undefined;
  await built?.stop();
  await standIn?.close();
  built = undefined;
  standIn = undefined;
});

// The forging post: rule and namespace, nothing that ties it to what the run started.
const alertBody = (outputFields: Record<string, string>) =>
  JSON.stringify({
    rule: 'Read sensitive file untrusted',
    priority: 'Error',
    time: new Date().toISOString(),
    output: 'File below /etc opened for writing',
    output_fields: outputFields,
  });

const postAlert = (app: TriggerApp, body: string) =>
  request(app.app).post('/alerts').set('Content-Type', 'application/json').send(body);
const detectedCount = (app: TriggerApp) =>
  app.metricValue('falco_trigger_verifications_total', { kind: 'event-generator', result: 'detected' });
const getRun = async (app: TriggerApp, id: string) =>
  (await request(app.app).get(`/triggers/${id}`).set(auth)).body as TriggerRun;

// Regression (issue 18 point 6): an event-generator run that failed (helm missing) turned
// `detected` when anyone posted {"rule":"Read sensitive file untrusted",...,"output_fields":{"k8s.ns.name":"default"}}.
describe('trigger verdicts cannot be forged by posting alerts', () => {
  it('a run that failed (helm missing) never turns detected, and the detected counter stays 0', async () => {
    built = buildTriggerApp(
      { TRIGGERS_ENABLED: 'true', TRIGGER_TOKEN: TOKEN, TRIGGER_KUBECONFIG: '/nonexistent' },
      { PATH: '/nonexistent-bin' },
    );
    const started = await request(built.app)
      .post('/triggers/event-generator')
      .set(auth)
      .send({ actions: '^syscall.ReadSensitiveFileUntrusted$' });
    expect(started.status).toBe(202);
    const run = await waitForRun(built.app, TOKEN, started.body.id, finished);
    expect(run.status).toBe('failed');

    const forged = await postAlert(built, alertBody({ 'k8s.ns.name': 'default' }));

    expect(forged.status).toBe(202);
    const after = await getRun(built, run.id);
    expect(after.verification.expectations).toEqual([
      { rule: 'Read sensitive file untrusted', status: 'not_run' },
    ]);
    expect(await detectedCount(built)).toBe(0);
  });

  describe.runIf(haveHelm)('while an event-generator Job runs (real helm, Kubernetes API stand-in)', () => {
    const start = async () => {
      standIn = await startKubeApiStandIn();
      // helm's first call never gets an answer: the install stays running, as while a Job runs.
      standIn.hold = /^\/version$/;
      built = buildTriggerApp(
        {
          TRIGGERS_ENABLED: 'true',
          TRIGGER_TOKEN: TOKEN,
          TRIGGER_ALLOWED_NAMESPACES: 'falco-canary',
          TRIGGER_KUBECONFIG: standIn.kubeconfigPath,
          TRIGGER_EVENT_GENERATOR_CHART: CHART,
          TRIGGER_EVENT_GENERATOR_CHART_VERSION: '',
          TRIGGER_COMMAND_TIMEOUT_MS: '20000',
        },
        { PATH: `${BIN}:${process.env.PATH ?? ''}`, HOME: mkdtempSync(join(tmpdir(), 'eg-home-')) },
      );
      const res = await request(built.app)
        .post('/triggers/event-generator')
        .set(auth)
        .send({ actions: '^syscall.ReadSensitiveFileUntrusted$' });
      expect(res.status).toBe(202);
      const run = res.body as TriggerRun;
      const release = `falco-eg-${run.id.slice(0, 8)}`;
      // The test plays the Job controller: the Job's pod, and a pod of another workload beside it.
      const containerId = 'f'.repeat(12) + '0123456789abcdef'.repeat(3) + '0123';
      standIn.addPod('falco-canary', {
        metadata: {
          name: `${release}-x7k2p`,
          uid: 'uid-run-pod',
          labels: { 'app.kubernetes.io/instance': release },
        },
        status: {
          phase: 'Running',
          containerStatuses: [{ name: 'event-generator', containerID: `containerd://${containerId}` }],
        },
      });
      standIn.addPod('falco-canary', {
        metadata: { name: 'web-1', uid: 'uid-web-1', labels: { 'app.kubernetes.io/instance': 'web' } },
        status: { phase: 'Running', containerStatuses: [{ containerID: `containerd://${'a'.repeat(64)}` }] },
      });
      const known = await waitForRun(built.app, TOKEN, run.id, (r) => (r.pods?.length ?? 0) > 0, 10_000);
      return { run: known, podName: `${release}-x7k2p`, containerId };
    };

    it('learns the Job pod from the API and ignores an alert from another pod in the same namespace', async () => {
      const { run } = await start();
      expect(run.status).toBe('running');
      expect(run.pods?.map((pod) => pod.name)).toEqual([`falco-eg-${run.id.slice(0, 8)}-x7k2p`]);

      const forged = await postAlert(
        built!,
        alertBody({ 'k8s.ns.name': 'falco-canary', 'k8s.pod.name': 'web-1', 'container.id': 'aaaaaaaaaaaa' }),
      );
      const namespaceOnly = await postAlert(built!, alertBody({ 'k8s.ns.name': 'falco-canary' }));

      expect([forged.status, namespaceOnly.status]).toEqual([202, 202]);
      const after = await getRun(built!, run.id);
      expect(after.verification.expectations).toEqual([
        { rule: 'Read sensitive file untrusted', status: 'pending' },
      ]);
      expect(await detectedCount(built!)).toBe(0);
    });

    it('keeps the Job pod logs through the API (no kubectl) once helm has ended', async () => {
      const { run, podName } = await start();

      // The API server answers again: helm goes on, fails on what the stand-in does not serve, and ends.
      standIn!.releaseHeld();
      const ended = await waitForRun(built!.app, TOKEN, run.id, finished, 30_000);

      expect(ended.commands.map((c) => c.argv.slice(0, 2).join(' '))).toEqual([
        'helm install',
        'k8s list-pods',
        'k8s logs',
        'helm uninstall',
      ]);
      expect(ended.commands[2]).toMatchObject({
        argv: ['k8s', 'logs', '-n', 'falco-canary', podName, '--tail', '200'],
        exitCode: 0,
        output: `stand-in log of ${podName}/default (tail 200)`,
      });
      const logReads = standIn!.requests.filter((r) => r.path.endsWith(`/pods/${podName}/log`));
      expect(logReads.map((r) => r.query.get('tailLines'))).toEqual(['200']);
    });

    it('matches the alert of the Job pod (by container id), counts nothing while running, and drops it when the run fails', async () => {
      const { run, podName, containerId } = await start();

      const own = await postAlert(
        built!,
        alertBody({
          'k8s.ns.name': 'falco-canary',
          'k8s.pod.name': podName,
          'container.id': containerId.slice(0, 12),
        }),
      );

      expect(own.status).toBe(202);
      const matched = await getRun(built!, run.id);
      expect(matched.verification.expectations).toEqual([
        {
          rule: 'Read sensitive file untrusted',
          status: 'detected',
          alertId: own.headers['x-alert-id'],
          latencyMs: expect.any(Number),
        },
      ]);
      // Counted only once the run succeeds: a run that fails after all must not have raised it.
      expect(await detectedCount(built!)).toBe(0);

      standIn!.hold = undefined;
      await built!.triggers?.stop(1_000);
      const ended = await waitForRun(built!.app, TOKEN, run.id, finished);
      expect(ended.status).toBe('failed');
      expect(ended.verification.expectations).toEqual([
        { rule: 'Read sensitive file untrusted', status: 'not_run' },
      ]);
      expect(await detectedCount(built!)).toBe(0);
    });
  });
});
