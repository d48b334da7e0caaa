import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type TestReceiver } from '../helpers/start-receiver.js';

const ALERT = JSON.stringify({
  rule: 'Injected',
  priority: 'Critical',
  time: '2026-11-30T12:00:00Z',
  output: 'x',
});

interface Answer {
  status: number;
  type: string;
  body: string;
}

// node:http, not fetch: fetch forbids setting Host, which is what DNS rebinding changes.
function send(port: number, method: string, path: string, headers: Record<string, string>, body?: string) {
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      // A stream answers 200 and stays open: its status is enough.
      if (res.headers['content-type']?.startsWith('text/event-stream')) {
        res.destroy();
        resolve({ status: res.statusCode ?? 0, type: 'text/event-stream', body: '' });
      }
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? '', body: text }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

const refusedCount = async (receiver: TestReceiver, reason: string) =>
  Number(
    new RegExp(`falco_http_refused_total\\{reason="${reason}"\\} (\\d+)`).exec(
      await receiver.metricsText(),
    )?.[1],
  );

// Regression (issue 18.7): a form post from any web page was stored (202), and a DNS-rebinding
// page could read the store, since every Host was answered.
describe('cross-site ingest and DNS rebinding', () => {
  let receiver: TestReceiver;
  let port: number;
  beforeAll(async () => {
    receiver = await startReceiver({ keepLogLines: false });
    port = receiver.port;
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it('refuses ingest and trigger calls with a foreign Origin (403 problem+json, counted), storing nothing', async () => {
    const foreign = {
      Origin: 'https://attacker.example',
      'Content-Type': 'application/x-www-form-urlencoded',
    };
    const answers = [
      await send(port, 'POST', '/alerts', foreign, ALERT),
      await send(port, 'POST', '/', foreign, ALERT),
      await send(port, 'POST', '/alerts', { ...foreign, 'Transfer-Encoding': 'chunked' }, ALERT),
      await send(port, 'POST', '/triggers/shell', { ...foreign, 'Content-Type': 'application/json' }, '{}'),
      // A rebinding page is same-origin with itself, under a name that is not ours.
      await send(
        port,
        'POST',
        '/alerts',
        { Host: `attacker.example:${port}`, Origin: `http://attacker.example:${port}` },
        ALERT,
      ),
      await send(port, 'POST', '/alerts', { Origin: 'null' }, ALERT),
    ];

    expect(answers.map((answer) => answer.status)).toEqual([403, 403, 403, 403, 403, 403]);
    expect(answers[0]!.type).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(answers[0]!.body)).toMatchObject({
      type: 'urn:falco-alert-receiver:problem:forbidden-origin',
    });
    expect(JSON.parse((await send(port, 'GET', '/alerts', {})).body)).toMatchObject({ count: 0 });
    expect(await refusedCount(receiver, 'foreign_origin')).toBe(answers.length);
  });

  it('accepts Falco (no Origin, any Host such as a pod IP) and a same-origin page', async () => {
    const falco = await send(
      port,
      'POST',
      '/alerts',
      { Host: '10.244.1.7:8080', 'Content-Type': 'application/json' },
      ALERT,
    );
    const samePage = await send(port, 'POST', '/alerts', { Origin: `http://127.0.0.1:${port}` }, ALERT);

    expect([falco.status, samePage.status]).toEqual([202, 202]);
  });

  it('answers 421 to reads under a Host outside ALLOWED_HOSTS, counted, and serves the allowed ones', async () => {
    const rebound = { Host: `attacker.example:${port}` };
    const refused = await Promise.all(
      ['/alerts', '/alerts/stream', '/', '/ui/summary?window=1h', '/alerts/some-id'].map((path) =>
        send(port, 'GET', path, rebound),
      ),
    );
    const allowed = await Promise.all(
      [
        `localhost:${port}`,
        'falco-alert-receiver.falco.svc.cluster.local:8080',
        'falco-alert-receiver:8080',
        `127.0.0.1:${port}`,
        `[::1]:${port}`,
        '10.244.1.7:8080',
      ].map((host) => send(port, 'GET', '/alerts?limit=1', { Host: host })),
    );

    expect(refused.map((answer) => answer.status)).toEqual([421, 421, 421, 421, 421]);
    expect(refused[0]!.type).toMatch(/^application\/problem\+json/);
    expect(refused[0]!.body).not.toContain('Injected');
    expect(await refusedCount(receiver, 'host_not_allowed')).toBe(refused.length);
    expect(allowed.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 200]);
  });

  it('keeps /healthz, /readyz and /metrics open under any Host (Prometheus scrapes pod IPs, probes use them)', async () => {
    const rebound = { Host: 'scraper.example' };
    const answers = await Promise.all(
      ['/healthz', '/readyz', '/metrics'].map((path) => send(port, 'GET', path, rebound)),
    );

    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
  });
});
