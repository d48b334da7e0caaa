import { resolve } from 'node:path';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { buildTriggerApp } from '../helpers/build-trigger-app.js';
import { finished, waitForRun } from '../helpers/trigger-runs.js';

const TOKEN = 'test-token-0123456789abcdef';

describe('trigger shutdown', () => {
  it('cancels a hanging helm install on stop, still uninstalls, and fails the run saying why', async () => {
    const path = `${resolve('test/fixtures/bin/slow-helm')}:/usr/bin:/bin`;
    const built = buildTriggerApp(
      { TRIGGERS_ENABLED: 'true', TRIGGER_TOKEN: TOKEN, TRIGGER_KUBECONFIG: '/nonexistent/kubeconfig' },
      { PATH: path },
    );
    const res = await request(built.app)
      .post('/triggers/event-generator')
      .set('Authorization', `Bearer ${TOKEN}`)
      .send({});
    expect(res.status).toBe(202);
    await new Promise((done) => setTimeout(done, 300));

    await built.triggers?.stop(10_000);

    const run = await waitForRun(built.app, TOKEN, res.body.id, finished, 5_000);
    expect(run.status).toBe('failed');
    expect(run.error).toBe('helm was cancelled');
    expect(run.commands.map((c) => c.argv[1])).toEqual(['install', 'list-pods', 'uninstall']);
    expect(run.commands[2]).toMatchObject({ failed: false, output: 'helm uninstall ok' });
  });
});
