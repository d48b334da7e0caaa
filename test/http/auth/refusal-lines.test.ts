import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { PassThrough } from 'node:stream';
import type { Request } from 'express';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_REFUSAL_KINDS, REFUSAL_LOG_EVERY_MS } from '../../../src/http/auth/refusal-lines.js';
import { createAuthRefusalLines, type AuthRefusalFields } from '../../../src/http/auth/refuse.js';
import { createLogger } from '../../../src/logging/create-logger.js';
import { VIEWER_TOKEN, startAuthTestServer, type AuthTestServer } from './auth-test-server.js';

const ENV = {
  VIEWER_TOKEN,
  AUTH_PROXY_USER_HEADER: 'X-Forwarded-User',
  AUTH_PROXY_CIDRS: '127.0.0.1/32',
  // Wrong tokens are answered 401, not 429, however many a test sends.
  AUTH_FAILURE_LIMIT: '100000',
};
const NO_CREDENTIALS = 'Send Authorization: Bearer <VIEWER_TOKEN>, or sign in on the dashboard.';

const refusedLines = (server: AuthTestServer) =>
  server.logLines.filter((line) => line.event === 'auth_refused');
const countOf = (lines: Record<string, unknown>[]) =>
  lines.reduce((sum, line) => sum + Number(line.count), 0);
const periodsSince = (started: number) => Math.ceil((performance.now() - started) / REFUSAL_LOG_EVERY_MS);

/** GET `path` from another loopback address (Linux answers all of 127/8): another client. */
function statusFrom(baseUrl: string, path: string, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(`${baseUrl}${path}`, { localAddress, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

describe('auth_refused lines of a client that keeps failing', () => {
  // Regression: a line per refused request, so a client sending no credentials (not even counted
  // towards AUTH_FAILURE_LIMIT) made us write as many lines as it sent requests.
  it('logs the first of 500 refusals at once and sums the rest into lines that add up to the metric', async () => {
    const server = await startAuthTestServer(ENV);
    const failures = () => server.metric('falco_auth_failures_total', { route_group: 'alerts' });
    const before = await failures();
    const started = performance.now();
    let lines: Record<string, unknown>[];
    try {
      for (let i = 0; i < 500; i += 1) expect((await server.get('/alerts')).status).toBe(401);

      lines = refusedLines(server);
      // The first, then at most one a period.
      expect(lines.length).toBeLessThanOrEqual(1 + periodsSince(started));
      expect(lines[0]).toMatchObject({
        level: 'warn',
        msg: 'request refused',
        routeGroup: 'alerts',
        reason: NO_CREDENTIALS,
        caller: '127.0.0.1',
        count: 1,
        reqId: expect.any(String),
      });
      expect(lines[0]).not.toHaveProperty('user');
      expect(await failures()).toBe(before + 500);
    } finally {
      await server.close();
    }

    // Closing the listener writes what the period held back.
    lines = refusedLines(server);
    expect(lines.length).toBeLessThanOrEqual(2 + periodsSince(started));
    expect(countOf(lines)).toBe(500);
  });

  it('still logs the first refusal of another kind at once, with its fields', async () => {
    const server = await startAuthTestServer(ENV);
    try {
      for (let i = 0; i < 50; i += 1) await server.get('/alerts');
      const wrong = { Authorization: 'Bearer wrong-token-0123456789abcdef' };
      const kinds = refusedLines(server).length;

      expect((await server.get('/alerts', wrong)).status).toBe(401);
      expect((await server.get('/alerts', { ...wrong, 'X-Forwarded-User': 'mallory' })).status).toBe(401);
      expect((await server.get('/alerts/stream')).status).toBe(401);

      expect(refusedLines(server).slice(kinds)).toEqual([
        expect.objectContaining({ routeGroup: 'alerts', reason: 'The bearer token is not valid.', count: 1 }),
        expect.objectContaining({
          routeGroup: 'alerts',
          reason: 'The bearer token is not valid.',
          caller: '127.0.0.1',
          user: 'mallory',
          count: 1,
        }),
        expect.objectContaining({
          routeGroup: 'stream',
          reason: NO_CREDENTIALS,
          caller: '127.0.0.1',
          count: 1,
        }),
      ]);
      expect(server.rawLog()).not.toContain('wrong-token');
    } finally {
      await server.close();
    }
  });

  it(`keeps lines of their own for ${MAX_REFUSAL_KINDS} kinds and sums the callers past them in one line`, async () => {
    const server = await startAuthTestServer(ENV);
    const callers = Array.from(
      { length: MAX_REFUSAL_KINDS + 50 },
      (_, i) => `127.1.${i >> 8}.${(i & 255) + 1}`,
    );
    const failures = () => server.metric('falco_auth_failures_total', { route_group: 'alerts' });
    const before = await failures();
    const started = performance.now();
    try {
      for (let round = 0; round < 4; round += 1)
        for (const caller of callers) expect(await statusFrom(server.baseUrl, '/alerts', caller)).toBe(401);
      expect(await failures()).toBe(before + 4 * callers.length);
    } finally {
      await server.close();
    }

    const lines = refusedLines(server);
    const own = lines.filter((line) => line.overflow === undefined);
    const overflow = lines.filter((line) => line.overflow === true);
    expect(new Set(own.map((line) => line.caller)).size).toBe(MAX_REFUSAL_KINDS);
    expect(overflow[0]).toMatchObject({ routeGroup: 'alerts', reason: NO_CREDENTIALS, count: 1 });
    // Each kind (and the overflow) its first line, one a period, and the rest at the close.
    expect(lines.length).toBeLessThanOrEqual((MAX_REFUSAL_KINDS + 1) * (1 + periodsSince(started)));
    expect(countOf(lines)).toBe(4 * callers.length);
  });
});

describe('createRefusalLines (auth_refused)', () => {
  afterEach(() => vi.useRealTimers());

  // The table holds the kinds of about the last period: a client that filled it once does not
  // hide every later kind in the overflow line.
  it('forgets a kind a period after its last refusal, so a new kind is logged at once again', () => {
    vi.useFakeTimers();
    const written: Record<string, unknown>[] = [];
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line) written.push(JSON.parse(line) as Record<string, unknown>);
    });
    const req = { socket: {}, log: createLogger({ level: 'info', destination }) } as unknown as Request;
    const fields = (caller: string): AuthRefusalFields => ({
      routeGroup: 'alerts',
      reason: 'r',
      caller,
      user: undefined,
    });
    const lines = createAuthRefusalLines();

    for (let i = 0; i < MAX_REFUSAL_KINDS + 1; i += 1) lines.add(req, fields(`198.51.100.${i}`));
    expect(lines.size()).toBe(MAX_REFUSAL_KINDS);
    expect(written.at(-1)).toMatchObject({ caller: `198.51.100.${MAX_REFUSAL_KINDS}`, overflow: true });
    lines.add(req, fields('198.51.100.0'));
    vi.advanceTimersByTime(REFUSAL_LOG_EVERY_MS);
    // The kind refused again wrote its count; the others had nothing to write and are forgotten.
    expect(lines.size()).toBe(1);
    vi.advanceTimersByTime(REFUSAL_LOG_EVERY_MS);
    expect(lines.size()).toBe(0);
    lines.add(req, fields('203.0.113.1'));

    expect(written.at(-1)).toMatchObject({ caller: '203.0.113.1', count: 1 });
    expect(written.at(-1)).not.toHaveProperty('overflow');
    expect(countOf(written)).toBe(MAX_REFUSAL_KINDS + 3);
  });
});
