import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { STOPPED_RUN_ERROR } from '../../src/triggers/run-cancellation.js';
import { buildTriggerApp } from '../helpers/build-trigger-app.js';
import { killSpawned, spawnService } from '../helpers/spawn-service.js';
import { finished, waitForRun } from '../helpers/trigger-runs.js';

const TOKEN = 'test-token-0123456789abcdef';

/** A run of `kind` with the stand-ins of test/fixtures/bin/`binDir`, 300 ms in. */
async function startRun(binDir: string, kind: 'event-generator' | 'shell' = 'event-generator') {
  const built = buildTriggerApp(
    {
      TRIGGERS_ENABLED: 'true',
      TRIGGER_TOKEN: TOKEN,
      TRIGGER_KUBECONFIG: '/nonexistent/kubeconfig',
      TRIGGER_DEFAULT_BACKEND: 'docker',
    },
    { PATH: `${resolve('test/fixtures/bin', binDir)}:/usr/bin:/bin` },
  );
  const res = await request(built.app)
    .post(`/triggers/${kind}`)
    .set('Authorization', `Bearer ${TOKEN}`)
    .send({});
  expect(res.status).toBe(202);
  await new Promise((done) => setTimeout(done, 300));
  return { built, res };
}

const startEventGenerator = (helmDir: string) => startRun(helmDir);

describe('trigger shutdown', () => {
  it('cancels a hanging helm install on stop, still uninstalls, and fails the run saying why', async () => {
    const { built, res } = await startEventGenerator('slow-helm');

    expect(await built.triggers?.stop(10_000)).toBe(true);

    const run = await waitForRun(built.app, TOKEN, res.body.id, finished, 5_000);
    expect(run.status).toBe('failed');
    // Regression (review): it read 'helm was cancelled', as a cancel nobody asked for.
    expect(run.error).toBe(`${STOPPED_RUN_ERROR}: helm was cancelled`);
    expect(run.commands.map((c) => c.argv[1])).toEqual(['install', 'list-pods', 'uninstall']);
    expect(run.commands[2]).toMatchObject({ failed: false, output: 'helm uninstall ok' });
    // Counted failed, as a run whose replica stopped is; cancelled counts cancels asked for.
    const labels = { kind: 'event-generator' };
    expect(await built.metricValue('falco_trigger_runs_total', { ...labels, outcome: 'failed' })).toBe(1);
    expect(await built.metricValue('falco_trigger_runs_total', { ...labels, outcome: 'cancelled' })).toBe(0);
  });

  it('fails a shell run whose docker run it cancelled saying the receiver stopped, not that it was cancelled', async () => {
    const { built, res } = await startRun('slow-docker', 'shell');

    await built.triggers?.stop(5_000);

    const run = await waitForRun(built.app, TOKEN, res.body.id, finished, 5_000);
    expect(run).toMatchObject({ status: 'failed', error: `${STOPPED_RUN_ERROR}: docker was cancelled` });
    expect(run.commands.map((c) => c.argv[1])).toEqual(['run', 'rm']);
  });

  it('fails a run still cleaning up when the grace ends, once, saying the receiver stopped', async () => {
    const { built, res } = await startEventGenerator('slow-uninstall-helm');

    const started = Date.now();
    expect(await built.triggers?.stop(500)).toBe(false);
    expect(Date.now() - started).toBeLessThan(3_000);

    const run = await waitForRun(built.app, TOKEN, res.body.id, finished, 1_000);
    const release = `falco-eg-${run.id.slice(0, 8)}`;
    const left = `helm release ${release} in namespace default may be left`;
    const error = `${STOPPED_RUN_ERROR}: still running after the shutdown grace (500 ms); ${left}`;
    expect(run).toMatchObject({ status: 'failed', error });
    // Regression (review): nothing named the release the interrupted uninstall may leave.
    expect(built.logs.filter((line) => line.event === 'trigger_cleanup_cut')).toEqual([
      expect.objectContaining({
        level: 'warn',
        runId: run.id,
        release,
        namespace: 'default',
        graceMs: 500,
        msg: expect.stringContaining(`(remove it with: helm uninstall ${release} --namespace default)`),
      }),
    ]);
    expect(run.finishedAt).toBeDefined();
    // Regression: that end was logged nowhere, and with the in-memory store the run is gone at exit.
    expect(built.logs.filter((line) => line.event === 'trigger_finished')).toEqual([
      expect.objectContaining({ runId: run.id, status: 'failed', error, commands: 2 }),
    ]);
    const metrics = await request(built.app).get('/metrics');
    expect(metrics.text).toMatch(/falco_trigger_runs_total\{kind="event-generator",outcome="failed"\} 1\n/);
    // The uninstall ends after the grace: the run stays as shutdown left it, counted once.
    await new Promise((done) => setTimeout(done, 5_500));
    expect((await waitForRun(built.app, TOKEN, res.body.id, finished, 1_000)).error).toBe(error);
    const later = await request(built.app).get('/metrics');
    expect(later.text).toMatch(/falco_trigger_runs_total\{kind="event-generator",outcome="failed"\} 1\n/);
  }, 15_000);
});

// Regression: the process gave its running triggers a fixed 5 s to clean up, before it even began
// draining requests; execa then killed a helm uninstall still running at exit, and the release
// stayed installed in the cluster.
describe('trigger shutdown of the real process', () => {
  afterEach(killSpawned);

  // The service, with helm's stand-in of 5 s uninstalls, running an install that hangs.
  async function startHangingInstall(shutdownTimeoutMs: string) {
    const service = await spawnService({
      TRIGGERS_ENABLED: 'true',
      TRIGGER_TOKEN: TOKEN,
      TRIGGER_KUBECONFIG: '/nonexistent/kubeconfig',
      SHUTDOWN_TIMEOUT_MS: shutdownTimeoutMs,
      PATH: `${resolve('test/fixtures/bin/slow-uninstall-helm')}:/usr/bin:/bin`,
    });
    const res = await fetch(`http://127.0.0.1:${service.port}/triggers/event-generator`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(202);
    // helm install is running: the stand-in's `sleep 30`, a child of the service.
    await vi.waitFor(
      () =>
        expect(
          execFileSync('ps', ['-o', 'args=', '--ppid', String(service.child.pid)], { encoding: 'utf8' }),
        ).toContain('sleep 30'),
      { timeout: 10_000, interval: 20 },
    );
    return service;
  }

  it('gives a cancelled run SHUTDOWN_TIMEOUT_MS to uninstall, alongside the drain', async () => {
    const service = await startHangingInstall('9000');

    service.child.kill('SIGTERM');

    expect(await service.exited).toBe(0);
    // The uninstall (5 s) finished: the run ends on the cancelled install, not on the stop.
    const events = service.lines.map((line) => line.event);
    expect(service.lines.filter((l) => l.event === 'trigger_finished')).toEqual([
      expect.objectContaining({
        status: 'failed',
        error: `${STOPPED_RUN_ERROR}: helm was cancelled`,
        commands: 3,
      }),
    ]);
    expect(events.indexOf('trigger_finished')).toBeLessThan(events.indexOf('shutdown_complete'));
    expect(service.lines).toContainEqual(
      expect.objectContaining({ event: 'shutdown_complete', drained: true }),
    );
    expect(events).not.toContain('trigger_cleanup_cut');
  }, 30_000);

  // Regression (review): the process exited at SHUTDOWN_TIMEOUT_MS, killing the uninstall, having
  // logged shutdown_complete drained:true first, and nothing named the release it may have left.
  it('names the release a cut-short uninstall may leave before shutdown completes, not drained', async () => {
    const service = await startHangingInstall('1000');

    service.child.kill('SIGTERM');

    expect(await service.exited).toBe(1);
    const events = service.lines.map((line) => line.event);
    const cut = service.lines.find((line) => line.event === 'trigger_cleanup_cut');
    expect(cut).toMatchObject({ level: 'warn', release: expect.stringMatching(/^falco-eg-[0-9a-f]{8}$/) });
    expect(cut).toMatchObject({ namespace: 'default', graceMs: 1000 });
    expect(events.indexOf('trigger_cleanup_cut')).toBeLessThan(events.indexOf('shutdown_complete'));
    expect(events.indexOf('trigger_finished')).toBeLessThan(events.indexOf('shutdown_complete'));
    expect(service.lines).toContainEqual(
      expect.objectContaining({ event: 'shutdown_complete', drained: false }),
    );
  }, 30_000);
});
