import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { readFixture } from '../helpers/fixtures.js';
import { openLingering } from '../helpers/raw-connection.js';
import { FROM_SOURCE, killSpawned, spawnService } from '../helpers/spawn-service.js';

const BODY = readFixture('samples/valid/093-latest-terminal-shell-in-container.json');

async function post(port: number): Promise<{ status: number; id?: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/alerts`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: BODY,
  });
  return { status: res.status, id: res.headers.get('x-alert-id') ?? undefined };
}

/** Sends the headers and half the body now; `finish()` sends the rest and resolves with the raw response. */
function startSlowPost(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  let response = '';
  socket.on('data', (chunk) => (response += chunk.toString()));
  const ended = new Promise<string>((resolve) => socket.on('close', () => resolve(response)));
  socket.write(
    `POST /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\nConnection: close\r\n\r\n`,
  );
  socket.write(BODY.subarray(0, 100));
  return {
    finish: () => {
      socket.write(BODY.subarray(100));
      return ended;
    },
    abandon: () => socket.destroy(),
  };
}

afterEach(killSpawned);

describe('SIGTERM on a real server process', () => {
  it('turns readiness off, finishes in-flight requests, loses no accepted alert and exits 0', async () => {
    const service = await spawnService(
      { SHUTDOWN_DELAY_MS: '300', SHUTDOWN_TIMEOUT_MS: '5000' },
      { main: FROM_SOURCE },
    );
    const { port } = service;
    const slow = startSlowPost(port);
    const burst = await Promise.all(Array.from({ length: 20 }, () => post(port)));
    const idle = net.connect(port, '127.0.0.1'); // an idle keep-alive connection must not hold shutdown open

    service.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const readiness = await fetch(`http://127.0.0.1:${port}/readyz`);
    expect(readiness.status).toBe(503);
    const duringDelay = await post(port); // still served while load balancers catch up
    const slowResponse = await slow.finish();
    const code = await service.exited;
    idle.destroy();

    expect(code).toBe(0);
    expect(slowResponse).toMatch(/^HTTP\/1\.1 202/);
    const slowId = /\r\nx-alert-id: ([0-9a-f-]{36})\r\n/i.exec(slowResponse)?.[1];
    const accepted = [...burst, duringDelay].filter((r) => r.status === 202).map((r) => r.id);
    expect(accepted).toHaveLength(21);
    const logged = service.lines
      .filter((line) => line['event'] === 'falco_alert')
      .map((line) => line['alertId']);
    for (const id of [...accepted, slowId]) expect(logged).toContain(id);
    expect(service.lines).toContainEqual(
      expect.objectContaining({ event: 'shutdown_complete', drained: true }),
    );
    await expect(post(port)).rejects.toThrow();
  });
});

describe('SIGTERM while a connection lingers after its answer', () => {
  // Regression: a lingering connection (answered, ended, what its client still sends read and
  // dropped for up to LINGER_MS) held the listener's close, so with SHUTDOWN_TIMEOUT_MS below
  // LINGER_MS the shutdown ended at its deadline not drained (exit 1), though that connection had
  // nothing left to deliver.
  it('with SHUTDOWN_TIMEOUT_MS below LINGER_MS, drains and exits 0, the client having its whole answer', async () => {
    const service = await spawnService(
      { SHUTDOWN_DELAY_MS: '0', SHUTDOWN_TIMEOUT_MS: '500' },
      { main: FROM_SOURCE },
    );
    const lingering = await openLingering(service.port);

    service.child.kill('SIGTERM');
    const code = await service.exited;
    lingering.socket.destroy();

    expect(service.lines.at(-1)).toMatchObject({ event: 'shutdown_complete', drained: true });
    expect(code).toBe(0);
    expect(service.lines.filter((line) => line['event'] === 'shutdown_timeout')).toEqual([]);
    expect(lingering.received()).toMatch(/^HTTP\/1\.1 404 /);
  });

  // A CONNECT's socket (its 405 closed with the lingering close) is outside node:http's list of
  // connections: counted as not lingering, it made the shutdown undrained all the same.
  it('with a CONNECT answered 405 lingering, drains and exits 0', async () => {
    const service = await spawnService(
      { SHUTDOWN_DELAY_MS: '0', SHUTDOWN_TIMEOUT_MS: '500' },
      { main: FROM_SOURCE },
    );
    const lingering = await openLingering(
      service.port,
      undefined,
      'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n',
    );

    service.child.kill('SIGTERM');
    const code = await service.exited;
    lingering.socket.destroy();

    expect(lingering.received()).toMatch(/^HTTP\/1\.1 405 /);
    expect(service.lines.at(-1)).toMatchObject({ event: 'shutdown_complete', drained: true });
    expect(code).toBe(0);
  });

  it('beside a request still in flight at SHUTDOWN_TIMEOUT_MS, the shutdown is not drained and exits 1', async () => {
    const service = await spawnService(
      { SHUTDOWN_DELAY_MS: '0', SHUTDOWN_TIMEOUT_MS: '500' },
      { main: FROM_SOURCE },
    );
    const lingering = await openLingering(service.port);
    // Its body never finished: in flight until the deadline cuts it.
    const slow = startSlowPost(service.port);
    await new Promise((resolve) => setTimeout(resolve, 100));

    service.child.kill('SIGTERM');
    const code = await service.exited;
    lingering.socket.destroy();
    slow.abandon();

    expect(service.lines.at(-1)).toMatchObject({ event: 'shutdown_complete', drained: false });
    expect(code).toBe(1);
    expect(service.lines).toContainEqual(expect.objectContaining({ event: 'shutdown_timeout' }));
  });
});

describe('start-up with an invalid environment', () => {
  it('lists every problem and exits non-zero before listening', async () => {
    await expect(spawnService({ PORT: 'x', LOG_LEVEL: 'loud' }, { main: FROM_SOURCE })).rejects.toThrow(
      /exited \(2\)[\s\S]*PORT[\s\S]*LOG_LEVEL/,
    );
  });
});
