import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { createReceiver } from '../../src/create-receiver.js';
import { createLogger } from '../../src/logging/create-logger.js';
import { startServer } from '../../src/server/start-server.js';
import { readFixture } from '../helpers/fixtures.js';
import { postAlertBody as post } from '../helpers/post-alert-body.js';
import { openRaw } from '../helpers/raw-connection.js';
import { metricValue } from '../helpers/test-app.js';

// The receiver's log destination, written synchronously as pino's sync destination is: every
// write is recorded, and alert lines fail while `failAlertLines` is set (a full disk, a closed pipe).
function recordingDestination() {
  const state = { writes: [] as string[], failAlertLines: false };
  const destination = {
    write(text: string) {
      if (state.failAlertLines && text.includes('"event":"falco_alert"'))
        throw new Error('EIO: log write failed');
      state.writes.push(text);
    },
  };
  return { state, destination };
}

describe('group commit of the alert log lines', () => {
  const { state, destination } = recordingDestination();
  const loaded = loadConfig({ STREAM_HEARTBEAT_MS: '60000' });
  if (!loaded.ok) throw new Error(loaded.problems.join('; '));
  const receiver = createReceiver(loaded.config, {
    logger: createLogger({ level: 'info', destination }),
    processMetrics: false,
  });
  const sample = readFixture('samples/valid/093-latest-terminal-shell-in-container.json');
  let server: http.Server;
  let port: number;

  beforeAll(async () => {
    server = await startServer(receiver.app, { host: '127.0.0.1', port: 0 });
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const alertLines = (writes: string[]) =>
    writes.flatMap((text) => text.split('\n')).filter((line) => line.includes('"event":"falco_alert"'));

  it('writes the lines of alerts that arrive together in fewer writes than alerts, each line whole, one per 202', async () => {
    // Warm (a cold first alert takes longer than a turn's 1 ms budget), connected first, then every
    // request written at once: they arrive in the same loop iteration.
    for (let i = 0; i < 20; i++)
      await Promise.all(Array.from({ length: 10 }, () => post(port, sample, false)));
    // The server has accepted all 32 (a client's connect comes before the server's accept).
    const open = () => new Promise<number>((resolve) => server.getConnections((_e, n) => resolve(n)));
    const already = await open();
    const connections = await Promise.all(Array.from({ length: 32 }, () => openRaw(port)));
    await expect.poll(open).toBeGreaterThanOrEqual(already + 32);
    const from = state.writes.length;
    const head = `POST /alerts HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\n`;
    for (const c of connections)
      c.write(Buffer.concat([Buffer.from(`${head}Content-Length: ${sample.length}\r\n\r\n`), sample]));
    await Promise.all(connections.map((c) => c.closed));
    const answers = connections.map((c) => c.received());
    expect(answers.map((a) => a.slice(0, 12))).toEqual(Array(32).fill('HTTP/1.1 202'));
    const writes = state.writes.slice(from);
    expect(writes.every((text) => text.endsWith('\n'))).toBe(true);
    const ids = alertLines(writes).map((line) => (JSON.parse(line) as { alertId: string }).alertId);
    const answered = answers.map((a) => /^x-alert-id: (\S+)\r$/im.exec(a)?.[1]);
    expect(new Set(ids)).toEqual(new Set(answered));
    expect(ids).toHaveLength(32);
    expect(writes.length).toBeLessThan(32);
  });

  it.each([
    ['fast path', false],
    ['Express route', true],
  ])('answers 500, never 202, when the alert line cannot be written (%s)', async (_path, chunked) => {
    state.failAlertLines = true;
    try {
      const answer = await post(port, sample, chunked);
      expect(answer.status).toBe(500);
      expect(answer.headers['content-type']).toContain('application/problem+json');
      expect(answer.headers['x-alert-id']).toBeUndefined();
    } finally {
      state.failAlertLines = false;
    }
    // The write failure is logged, and the next alert is accepted and logged again.
    expect(state.writes.some((text) => text.includes('EIO: log write failed'))).toBe(true);
    const from = state.writes.length;
    expect((await post(port, sample, chunked)).status).toBe(202);
    expect(alertLines(state.writes.slice(from))).toHaveLength(1);
  });

  it('counts every accepted alert once per turn it was accepted in', async () => {
    const before = await metricValue(receiver.metrics.registry, 'falco_alerts_total', {
      rule: 'Terminal shell in container',
    });
    await Promise.all(Array.from({ length: 10 }, () => post(port, sample, false)));
    const after = await metricValue(receiver.metrics.registry, 'falco_alerts_total', {
      rule: 'Terminal shell in container',
    });
    expect(after - before).toBe(10);
  });
});
