import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postAlerts, ruleAlert } from '../helpers/post-alerts.js';
import { readmeAcl } from '../helpers/readme-acl.js';
import { openSseClient } from '../helpers/sse-client.js';
import { redisAvailable, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { startReceiver, type TestReceiver } from '../helpers/start-receiver.js';

const hasRedis = redisAvailable();
const PASSWORD = 'acl-password-0123456789';
const TRIGGER_TOKEN = 'acl-trigger-token-0123456789';

describe.skipIf(!hasRedis)("a receiver on Redis as the user README's ACL makes", () => {
  let redis: TestRedis;
  let receiver: TestReceiver;

  beforeAll(async () => {
    redis = await startRedis();
    await redis.cli(...readmeAcl(PASSWORD));
    receiver = await startReceiver({
      env: {
        STORE_URL: `redis://falco-alert-receiver:${PASSWORD}@127.0.0.1:${redis.port}`,
        TRIGGERS_ENABLED: 'true',
        TRIGGER_TOKEN,
        TRIGGER_KUBECONFIG: '/nonexistent/kubeconfig',
      },
    });
  });
  afterAll(async () => {
    await receiver?.close();
    await redis?.stop();
  });

  const base = () => `http://127.0.0.1:${receiver.port}`;

  it('takes, lists, counts and streams alerts and runs a trigger with no command refused', async () => {
    for (let i = 0; i < 50 && !/^falco_store_up 1$/m.test(await receiver.metricsText()); i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    const stream = await openSseClient(receiver.port);
    const ids: string[] = [];
    for (const rule of ['ACL probe A', 'ACL probe B', 'ACL probe C'])
      ids.push(...(await postAlerts(receiver.port, ruleAlert(rule), 1)));
    await stream.waitFor(3, 10_000);
    stream.close();
    expect(stream.ids).toEqual(ids);

    const list = (await (await fetch(`${base()}/alerts?rule=ACL%20probe%20B`)).json()) as { count: number };
    expect(list.count).toBe(1);
    expect((await fetch(`${base()}/alerts/${ids[2]}`)).status).toBe(200);
    const summary = (await (await fetch(`${base()}/ui/summary`)).json()) as { total: number };
    expect(summary.total).toBe(3);

    const started = await fetch(`${base()}/triggers/shell`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TRIGGER_TOKEN}`, 'Content-Type': 'application/json' },
      body: '{"backend":"kubernetes"}',
    });
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as { id: string };
    let status = 'running';
    for (let i = 0; i < 100 && status === 'running'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const run = await fetch(`${base()}/triggers/${id}`, {
        headers: { Authorization: `Bearer ${TRIGGER_TOKEN}` },
      });
      status = ((await run.json()) as { status: string }).status;
    }
    // No kubeconfig: the run fails at once, its states saved and read through Redis as this user.
    expect(status).toBe('failed');

    expect(await redis.cli('ACL', 'LOG')).toBe('');
    expect(receiver.logLines.filter((line) => (line.level as number) >= 40)).toEqual([]);
    expect(await receiver.metricsText()).toMatch(/^falco_store_up 1$/m);
  });
});
