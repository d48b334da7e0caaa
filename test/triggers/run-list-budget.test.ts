import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/server/start-server.js';
import { buildTriggerApp, type TriggerApp } from '../helpers/build-trigger-app.js';
import { finished, waitForRun } from '../helpers/trigger-runs.js';

const TOKEN = 'test-token-0123456789abcdef';
const RUNS = 12;
// Each run keeps two helm steps of 400 KB of output: a list of all runs is about 9.6 MB.
const OUTPUT_CHARS = 400_000;

// Regression: GET /triggers answered from outside the readers' budget, so lists pipelined on one
// connection and never read were all built and held (megabytes each, TRIGGER_MAX_RUNS runs of
// TRIGGER_OUTPUT_MAX_CHARS of output per step), as alert lists were before they reserved theirs.
describe('trigger run lists held for readers that do not read', () => {
  let built: TriggerApp;
  let server: http.Server;
  let port: number;

  beforeAll(async () => {
    // A helm that prints a lot and fails: every run ends at once, failed, with its output kept.
    const bin = mkdtempSync(join(tmpdir(), 'chatty-helm-'));
    writeFileSync(join(bin, 'helm'), `#!/bin/sh\nhead -c ${OUTPUT_CHARS} /dev/zero | tr '\\0' x\nexit 1\n`);
    chmodSync(join(bin, 'helm'), 0o755);
    built = buildTriggerApp(
      {
        TRIGGERS_ENABLED: 'true',
        TRIGGER_TOKEN: TOKEN,
        TRIGGER_KUBECONFIG: '/nonexistent/kubeconfig',
        TRIGGER_OUTPUT_MAX_CHARS: String(OUTPUT_CHARS),
        QUERY_MAX_INFLIGHT_BYTES: String(16 * 1024 * 1024),
        QUERY_MAX_INFLIGHT_BYTES_PER_ADDRESS: String(16 * 1024 * 1024),
        QUERY_STALL_TIMEOUT_MS: '60000',
      },
      { PATH: `${bin}:/usr/bin:/bin` },
    );
    server = await startServer(built.app, { host: '127.0.0.1', port: 0 });
    port = (server.address() as AddressInfo).port;
    for (let i = 0; i < RUNS; i++) {
      const started = await request(server)
        .post('/triggers/event-generator')
        .set('Authorization', `Bearer ${TOKEN}`)
        .send({});
      expect(started.status).toBe(202);
      await waitForRun(built.app, TOKEN, started.body.id, finished);
    }
  }, 60_000);
  afterAll(async () => {
    await built?.stop();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  it('holds at most QUERY_MAX_INFLIGHT_BYTES of lists pipelined on a connection that does not read', async () => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.pause();
    const get = `GET /triggers HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`;
    socket.write(get.repeat(6));

    // Two lists of about 9.6 MB do not fit in 16 MiB: from the second on, each is refused.
    await expect
      .poll(() => built.metricValue('falco_alert_reads_refused_total', { reason: 'inflight_bytes' }), {
        timeout: 10_000,
      })
      .toBe(5);
    socket.destroy();
  }, 30_000);
});
