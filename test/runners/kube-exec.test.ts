import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execInPod } from '../../src/runners/kube-exec.js';
import { buildShellPod, createPodLifecycle, RUN_ID_LABEL } from '../../src/runners/kube-pods.js';
import { buildShellCommand } from '../../src/triggers/shell-trigger.js';
import { startKubeApiStandIn, type KubeApiStandIn } from '../helpers/kube-api-stand-in.js';

const options = { timeoutMs: 10_000, maxOutputChars: 2_000 };
let api: KubeApiStandIn;
let kc: KubeConfig;

beforeEach(async () => {
  api = await startKubeApiStandIn();
  kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfigPath);
});
afterEach(async () => {
  await api.close();
});

describe('execInPod against a recording API server stand-in', () => {
  it('asks for a TTY and sends the nonce command to the pod in its namespace', async () => {
    const command = buildShellCommand('00ff00ff00ff00ff');
    const result = await execInPod(
      kc,
      { namespace: 'falco-canary', pod: 'web-1', container: 'app' },
      command,
      options,
    );

    expect(result).toMatchObject({ failed: false, exitCode: 0 });
    expect(result.output).toContain('falco-receiver-canary-00ff00ff00ff00ff');
    const exec = api.requests.find((request) => request.upgrade);
    expect(exec?.path).toBe('/api/v1/namespaces/falco-canary/pods/web-1/exec');
    expect(exec?.query.get('tty')).toBe('true');
    expect(exec?.query.get('stdin')).toBe('false');
    expect(exec?.query.get('container')).toBe('app');
    expect(exec?.query.getAll('command')).toEqual(command);
    expect(result.argv).toEqual([
      'k8s',
      'exec',
      '--tty',
      '-n',
      'falco-canary',
      'web-1',
      '-c',
      'app',
      '--',
      ...command,
    ]);
  });

  it('reports the exit code from the status channel when the command fails', async () => {
    const command = ['sh', '-c', 'exit 3'];
    const result = await execInPod(kc, { namespace: 'ns', pod: 'p', container: '' }, command, options);
    expect(result).toMatchObject({ failed: true, exitCode: 3 });
    expect(result.reason).toMatch(/^the command exited with code 3/);
  });

  // Regression: the wait for the websocket to open had no deadline, so a run hung for good.
  it('ends an exec whose upgrade the API server never answers at its deadline, and drops the connection', async () => {
    api.hold = /\/exec$/;
    const result = await execInPod(kc, { namespace: 'ns', pod: 'p', container: '' }, ['sh'], {
      ...options,
      timeoutMs: 300,
    });

    expect(result).toMatchObject({
      failed: true,
      timedOut: true,
      failure: 'timeout',
      reason: 'exec timed out after 300 ms',
    });
    await expect.poll(() => api.abandoned).toBe(1);
  });

  it('ends an exec at once when the run is cancelled (shutdown), and drops the connection', async () => {
    api.hold = /\/exec$/;
    const cancel = new AbortController();
    const executing = execInPod(kc, { namespace: 'ns', pod: 'p', container: '' }, ['sh'], {
      ...options,
      signal: cancel.signal,
    });
    await expect.poll(() => api.requests.some((request) => request.upgrade)).toBe(true);
    cancel.abort();

    expect(await executing).toMatchObject({
      failed: true,
      timedOut: false,
      failure: 'cancelled',
      reason: 'exec cancelled',
    });
    await expect.poll(() => api.abandoned).toBe(1);
  });

  it('fails with a clear reason when the API server is unreachable', async () => {
    await api.close();
    const result = await execInPod(kc, { namespace: 'ns', pod: 'p', container: '' }, ['sh'], options);
    expect(result.failed).toBe(true);
    expect(result.reason).toMatch(/^exec failed: /);
    api = await startKubeApiStandIn();
  });
});

describe('short-lived pod lifecycle', () => {
  // A lifecycle with short deadlines, and the pod run-a makes under `name`, created.
  async function createdPod(name: string) {
    const pods = createPodLifecycle(kc, { maxOutputChars: 500, pollMs: 20, timeoutMs: 5_000 });
    const pod = buildShellPod({ name, image: 'busybox:1.36', lifetimeSeconds: 240, runId: 'run-a' });
    await pods.createPod('falco-canary', pod);
    return pods;
  }

  it('creates a locked-down pod, waits for Running, and deletes it', async () => {
    const pods = createPodLifecycle(kc, { maxOutputChars: 500, pollMs: 20, timeoutMs: 5_000 });
    const pod = buildShellPod({
      name: 'falco-trigger-abc',
      image: 'busybox:1.36',
      lifetimeSeconds: 240,
      runId: 'test-run',
    });

    const { result: created } = await pods.createPod('falco-canary', pod);
    const running = await pods.waitForRunning('falco-canary', 'falco-trigger-abc', 5_000);
    const deleted = await pods.deletePod('falco-canary', 'falco-trigger-abc');

    expect([created.failed, running.failed, deleted.failed]).toEqual([false, false, false]);
    const calls = api.requests.map((request) => `${request.method} ${request.path}`);
    expect(calls).toEqual([
      'POST /api/v1/namespaces/falco-canary/pods',
      'GET /api/v1/namespaces/falco-canary/pods/falco-trigger-abc',
      'DELETE /api/v1/namespaces/falco-canary/pods/falco-trigger-abc',
    ]);
    const body = api.requests[0]?.body as typeof pod;
    expect(body.spec?.securityContext?.runAsNonRoot).toBe(true);
    expect(body.spec?.containers[0]?.securityContext?.allowPrivilegeEscalation).toBe(false);
    expect(body.spec?.automountServiceAccountToken).toBe(false);
    expect(api.requests[2]?.query.get('gracePeriodSeconds')).toBe('0');
  });

  it("reports the API server's answer when a pod does not exist, and a delete of it as done", async () => {
    const pods = createPodLifecycle(kc, { maxOutputChars: 500, pollMs: 20, timeoutMs: 5_000 });
    const waited = await pods.waitForRunning('ns', 'missing', 1_000);
    expect(waited.failed).toBe(true);
    expect(waited.reason).toBe('the Kubernetes API answered 404: pods "missing" not found');
    // Nothing is left to delete (a create that timed out before the API server made the pod).
    const deleted = await pods.deletePod('ns', 'missing');
    expect(deleted).toMatchObject({ failed: false, output: 'pod not found (nothing to delete)' });
  });

  // Regression (review): the uid precondition went in a DeleteOptions body, and the API server
  // reads a delete's options from its body alone when it has one: gracePeriodSeconds=0 in the
  // query was dropped, and the pod, read first, only began terminating (30 s, its name still taken).
  it('deletes a pod it read first, by its uid, at once: the grace period of 0 goes in the body too', async () => {
    const pods = await createdPod('falco-trigger-uid');

    const deleted = await pods.deletePod('falco-canary', 'falco-trigger-uid', 'run-a');

    expect(deleted).toMatchObject({ failed: false, output: 'pod deleted' });
    expect(api.pods.has('falco-canary/falco-trigger-uid')).toBe(false);
  });

  // Regression (review): a pod that took the name between the read and the delete (this run's pod
  // gone meanwhile: its lifetime ended, someone deleted it) is answered 409 to the uid
  // precondition; the step failed on it, and the run named a pod of another as its own, still there.
  it('leaves alone the pod that took the name between its read and the delete (409 to the uid precondition)', async () => {
    const pods = await createdPod('falco-trigger-swap');
    api.hold = /\/pods\/falco-trigger-swap$/;
    api.holdMethod = 'DELETE';

    const deleting = pods.deletePod('falco-canary', 'falco-trigger-swap', 'run-a');
    await expect.poll(() => api.requests.some((r) => r.method === 'DELETE')).toBe(true);
    const other = { name: 'falco-trigger-swap', uid: 'uid-of-run-b', labels: { [RUN_ID_LABEL]: 'run-b' } };
    api.addPod('falco-canary', { metadata: other });
    api.releaseHeld();

    expect(await deleting).toMatchObject({
      failed: false,
      output: "pod falco-trigger-swap is not this run's (left alone)",
    });
    expect(api.pods.get('falco-canary/falco-trigger-swap')?.metadata).toEqual(other);
  });

  it('ends a step the API server never answers at its deadline, and aborts the call', async () => {
    api.hold = /\/pods/;
    const pods = createPodLifecycle(kc, { maxOutputChars: 500, pollMs: 20, timeoutMs: 300 });
    const pod = buildShellPod({
      name: 'falco-trigger-silent',
      image: 'busybox:1.36',
      lifetimeSeconds: 240,
      runId: 'test-run',
    });

    const started = Date.now();
    const { result: created } = await pods.createPod('ns', pod);
    const waited = await pods.waitForRunning('ns', 'falco-trigger-silent', 200);

    expect(created).toMatchObject({
      failed: true,
      timedOut: true,
      failure: 'timeout',
      reason: 'create-pod timed out',
    });
    expect(waited).toMatchObject({ failed: true, timedOut: true, reason: 'wait-pod-running timed out' });
    expect(Date.now() - started).toBeLessThan(3_000);
    await expect.poll(() => api.abandoned).toBe(2);
  });

  it('ends a step at once when the run is cancelled (shutdown), but still deletes the pod', async () => {
    api.hold = /\/pods/;
    const cancel = new AbortController();
    const pods = createPodLifecycle(kc, {
      maxOutputChars: 500,
      pollMs: 20,
      timeoutMs: 60_000,
      signal: cancel.signal,
    });
    const pod = buildShellPod({
      name: 'falco-trigger-cancel',
      image: 'busybox:1.36',
      lifetimeSeconds: 240,
      runId: 'test-run',
    });

    const creating = pods.createPod('ns', pod);
    await expect.poll(() => api.requests.length).toBe(1);
    cancel.abort();

    expect((await creating).result).toMatchObject({
      failed: true,
      timedOut: false,
      failure: 'cancelled',
      reason: 'create-pod cancelled',
    });
    await expect.poll(() => api.abandoned).toBe(1);
    // Cleanup after the cancel: the delete is still sent and answered.
    api.hold = undefined;
    expect(await pods.deletePod('ns', 'falco-trigger-cancel')).toMatchObject({
      failed: false,
      output: 'pod not found (nothing to delete)',
    });
    expect(api.requests.at(-1)).toMatchObject({ method: 'DELETE' });
  });
});
