import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRaw, type RawConnection } from '../../helpers/raw-connection.js';
import { killSpawned, spawnService } from '../../helpers/spawn-service.js';
import { ALERT, VIEWER_TOKEN } from './auth-test-server.js';

const auth = { Authorization: `Bearer ${VIEWER_TOKEN}` };
const postAlert = (url: string) =>
  fetch(url, { method: 'POST', body: ALERT, headers: { 'Content-Type': 'application/json' } });

describe('ADMIN_PORT: the real process with a second listener for people', { timeout: 60_000 }, () => {
  let ingest: string;
  let admin: string;
  let service: Awaited<ReturnType<typeof spawnService>>;

  beforeAll(async () => {
    service = await spawnService({ ADMIN_PORT: '0', VIEWER_TOKEN, STREAM_HEARTBEAT_MS: '60000' });
    const adminLine = service.lines.find((line) => line.event === 'listening_admin');
    ingest = `http://127.0.0.1:${service.port}`;
    admin = `http://127.0.0.1:${String(adminLine?.port)}`;
  });
  afterAll(() => killSpawned());

  it('serves only ingest, health and metrics on the ingest port; reads, page and triggers are 404 there', async () => {
    for (const path of ['/alerts', '/']) {
      const response = await postAlert(ingest + path);
      expect(response.status, `POST ${path}`).toBe(202);
    }
    for (const path of ['/healthz', '/readyz', '/metrics'])
      expect((await fetch(ingest + path)).status, path).toBe(200);
    for (const path of [
      '/alerts',
      '/alerts/stream',
      '/alerts/x',
      '/',
      '/ui/config.json',
      '/ui/session',
      '/triggers',
    ]) {
      const response = await fetch(ingest + path, { headers: auth });
      expect(response.status, `GET ${path}`).toBe(404);
      expect(response.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    }
    expect((await fetch(`${ingest}/ui/session`, { method: 'POST', body: '{}' })).status).toBe(404);
  });

  it('serves reads, the stream and the page on the admin port, behind the viewer token, and no ingest', async () => {
    const controller = new AbortController();
    const stream = await fetch(`${admin}/alerts/stream`, { headers: auth, signal: controller.signal });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();

    const posted = await postAlert(`${ingest}/alerts`);
    const id = posted.headers.get('x-alert-id')!;

    let received = '';
    while (!received.includes(id)) {
      const chunk = await reader.read();
      if (chunk.done) break;
      received += new TextDecoder().decode(chunk.value);
    }
    expect(received).toContain(`id: ${id}`);
    controller.abort();
    expect((await fetch(`${admin}/alerts`)).status).toBe(401);
    expect((await fetch(`${admin}/alerts/${id}`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${admin}/`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${admin}/healthz`)).status).toBe(200);
    // Falco pointed at the admin port: refused, and counted and logged as an alert sent to a wrong URL.
    const wrongPort = await postAlert(`${admin}/alerts`);
    expect(wrongPort.status).toBe(405);
    expect(((await wrongPort.json()) as { detail: string }).detail).toContain('ADMIN_PORT');
    expect((await postAlert(`${admin}/`)).status).toBe(404);
    // Polled: a scrape shares the render of one just before (METRICS_REUSE_MS).
    await expect
      .poll(async () => (await fetch(`${ingest}/metrics`)).text(), { timeout: 5_000, interval: 200 })
      .toContain('falco_alerts_rejected_total{reason="unknown_path"} 2');
    expect(service.lines.filter((line) => line.event === 'alert_rejected').map((line) => line.path)).toEqual([
      '/alerts',
      '/',
    ]);
  });

  it('drains and closes both listeners on SIGTERM', async () => {
    service.child.kill('SIGTERM');

    expect(await service.exited).toBe(0);
    await expect(fetch(`${admin}/healthz`)).rejects.toThrow();
    await expect(fetch(`${ingest}/healthz`)).rejects.toThrow();
  });
});

describe('ADMIN_PORT: the same connection limits as the ingest port', { timeout: 60_000 }, () => {
  const connections: RawConnection[] = [];
  afterAll(() => {
    for (const connection of connections) connection.socket.destroy();
    killSpawned();
  });

  it('closes a connection past SERVER_MAX_CONNECTIONS_PER_ADDRESS on the admin port with a 503, counted', async () => {
    const service = await spawnService({
      ADMIN_PORT: '0',
      VIEWER_TOKEN,
      SERVER_MAX_CONNECTIONS_PER_ADDRESS: '2',
    });
    const adminPort = Number(service.lines.find((line) => line.event === 'listening_admin')?.port);
    for (let index = 0; index < 3; index++) connections.push(await openRaw(adminPort));
    const refused = connections[2]!;

    await refused.closed;
    expect(refused.received()).toMatch(/^HTTP\/1\.1 503/);
    const metrics = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
    expect(metrics).toMatch(
      /^falco_http_connections_refused_total\{reason="max_connections_per_address"\} 1$/m,
    );
  });
});
