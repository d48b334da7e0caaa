import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJson } from '../../src/alerts/parse-json.js';
import { isPlainAlertPost } from '../../src/http/fast-ingest.js';
import { startServer } from '../../src/server/start-server.js';
import { readFixture } from '../helpers/fixtures.js';
import { postAlertBody as post } from '../helpers/post-alert-body.js';
import { openRaw, type RawConnection } from '../helpers/raw-connection.js';
import { buildTestApp, metricValue } from '../helpers/test-app.js';

// Headers that differ per request or per connection, not per path.
const VARYING = new Set([
  'date',
  'x-request-id',
  'x-alert-id',
  'location',
  'content-length',
  'keep-alive',
  'connection',
]);
const stable = (headers: http.IncomingHttpHeaders) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !VARYING.has(name)));

// The request Falco's libcurl writes (http-output.md section 2), header for header as the real
// 0.34.1 of shared/falco/runtime sent it: Host, User-Agent, Accept, Content-Type, Content-Length.
const falcoHead = (port: number, length: number, extra = '') =>
  `POST /alerts HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: falcosecurity/falco\r\nAccept: */*\r\n` +
  `${extra}Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
const statusLines = (connection: RawConnection) => connection.received().match(/^HTTP\/1\.1 \d{3}/gm) ?? [];

describe('the node:http fast path for POST /alerts', () => {
  const built = buildTestApp();
  let server: http.Server;
  let port: number;
  const sample = readFixture('samples/valid/093-latest-terminal-shell-in-container.json');

  beforeAll(async () => {
    server = await startServer(built.app, { host: '127.0.0.1', port: 0 });
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('accepts an alert exactly as the Express route does: status, headers, no body, log line', async () => {
    const lines = built.rawLogLines.length;
    const fast = await post(port, sample, false, { 'x-request-id': 'fast-1' });
    const slow = await post(port, sample, true, { 'x-request-id': 'slow-1' });

    expect([fast.status, slow.status]).toEqual([202, 202]);
    expect(stable(fast.headers)).toEqual(stable(slow.headers));
    // Falco 0.34 prints any response body into its own log: an empty 202 by default.
    expect([fast.body, slow.body]).toEqual(['', '']);
    expect(fast.headers['content-length']).toBe('0');
    expect(fast.headers['content-type']).toBeUndefined();
    expect(fast.headers['x-request-id']).toBe('fast-1');
    // No body: the document-only security headers are left off (security-headers.ts), nosniff stays.
    expect(fast.headers['content-security-policy']).toBeUndefined();
    expect(fast.headers['x-frame-options']).toBeUndefined();
    expect(fast.headers['x-content-type-options']).toBe('nosniff');
    const [fastBody, slowBody] = [
      { id: fast.headers['x-alert-id'] as string },
      { id: slow.headers['x-alert-id'] as string },
    ];
    expect(fast.headers.location).toBe(`/alerts/${fastBody.id}`);

    // Fast: the body copied into the line; Express: pino serialises the parsed alert. Same line.
    const [fastLine, slowLine] = built.rawLogLines.slice(lines).map((line) => parseJson(line));
    expect(fastLine?.ok && slowLine?.ok).toBe(true);
    if (!fastLine?.ok || !slowLine?.ok) return;
    const fields = (value: unknown) => value as Record<string, unknown>;
    expect(Object.keys(fields(fastLine.value))).toEqual(Object.keys(fields(slowLine.value)));
    expect(fields(fastLine.value).alert).toEqual(fields(slowLine.value).alert);
    expect(fields(fastLine.value)).toMatchObject({
      event: 'falco_alert',
      reqId: 'fast-1',
      alertId: fastBody.id,
    });
    // The fast path copies the received text (every digit of the nanosecond evt.time included).
    expect(built.rawLogLines.at(-2)).toContain(`,"alert":${sample.toString('utf8').trim()},`);
    const evtTime = /"evt\.time":(\d+)/.exec(sample.toString('utf8'))?.[1];
    expect(evtTime?.length).toBeGreaterThan(16);
    expect(built.rawLogLines.at(-2)).toContain(`"evt.time":${evtTime}`);

    const stored = await built.store.get(fastBody.id);
    expect(stored?.alert).toEqual((await built.store.get(slowBody.id))?.alert);
  });

  it('answers Prefer: return=representation with the JSON body on both paths (RFC 7240)', async () => {
    const prefer = { prefer: 'respond-async, return=representation' };
    const fast = await post(port, sample, false, prefer);
    const slow = await post(port, sample, true, prefer);

    expect([fast.status, slow.status]).toEqual([202, 202]);
    expect(stable(fast.headers)).toEqual(stable(slow.headers));
    expect(fast.headers['preference-applied']).toBe('return=representation');
    expect(fast.headers['content-type']).toBe('application/json; charset=utf-8');
    // A body: every security header.
    expect(fast.headers['content-security-policy']).toContain("default-src 'self'");
    for (const res of [fast, slow]) {
      const body = JSON.parse(res.body) as { id: string; receivedAt: string };
      expect(Object.keys(body)).toEqual(['id', 'receivedAt']);
      expect(body.id).toBe(res.headers['x-alert-id']);
      expect((await built.store.get(body.id))?.receivedAt).toBe(body.receivedAt);
    }
  });

  // The header is a list whose empty elements a recipient ignores (RFC 9110, 8.4), and Node joins
  // repeated ones with commas: both paths refused these as compressed, and the alert was lost.
  it('accepts a Content-Encoding naming identity alone, empty or repeated, on both paths', async () => {
    for (const coding of ['', 'identity, identity', ' IDENTITY ,'])
      for (const chunked of [false, true]) {
        const res = await post(port, sample, chunked, { 'content-encoding': coding });
        expect(res.status, `${JSON.stringify(coding)}, chunked: ${chunked}`).toBe(202);
      }
    const gzip = await post(port, sample, true, { 'content-encoding': 'identity, gzip' });
    expect(gzip.status).toBe(415);
  });

  it('refuses a bad alert exactly as the Express route does, and counts both', async () => {
    const before = await metricValue(built.metrics.registry, 'falco_alerts_rejected_total', {
      reason: 'invalid_alert',
    });
    const bad = Buffer.from('{"rule":"","priority":"Loud","time":"yesterday"}');
    const fast = await post(port, bad, false);
    const slow = await post(port, bad, true);

    expect([fast.status, slow.status]).toEqual([400, 400]);
    expect(fast.body).toBe(slow.body);
    expect(stable(fast.headers)).toEqual(stable(slow.headers));
    expect(fast.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(fast.headers['content-security-policy']).toContain("default-src 'self'");
    expect(JSON.parse(fast.body).errors.map((e: { pointer: string }) => e.pointer)).toEqual([
      '/rule',
      '/priority',
      '/time',
    ]);
    const after = await metricValue(built.metrics.registry, 'falco_alerts_rejected_total', {
      reason: 'invalid_alert',
    });
    expect(after - before).toBe(2);
  });

  it('times fast-path requests into the request histogram under their route', async () => {
    const series = { method: 'POST', route: '/', status: '202' };
    const count = () =>
      metricValue(
        built.metrics.registry,
        'http_request_duration_seconds',
        series,
        'http_request_duration_seconds_count',
      );
    const before = await count();
    const res = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/',
          headers: { 'content-type': 'application/json' },
        },
        (response) => response.resume().on('end', () => resolve(response.statusCode ?? 0)),
      );
      req.on('error', reject);
      req.end(sample);
    });
    expect(res).toBe(202);
    await expect.poll(count).toBe(before + 1);
  });

  // Falco 0.34 and 0.35 (0.36+ with http_output.echo) print each response body to their stdout
  // between their JSON alert lines: a body without its newline glued the next alert to it.
  it('ends every refusal body Falco can get with a newline, on the fast path, in Express and raw', async () => {
    const bodyOf = (answer: string) => answer.slice(answer.indexOf('\r\n\r\n') + 4);
    const rawAnswer = async (request: string) => {
      const raw = await openRaw(port);
      raw.write(request);
      await raw.closed;
      return bodyOf(raw.received());
    };
    const bodies = [
      (await post(port, Buffer.from('{"rule":'), false)).body, // 400 on the fast path
      (await post(port, Buffer.from('{"rule":'), true)).body, // 400 in Express
      (await post(port, sample, false, { 'content-type': 'text/plain' })).body, // 415
      await rawAnswer('POST /alert HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}'), // 404
      await rawAnswer('POST /alerts HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}'), // 400, no Host
      await rawAnswer('POST /alerts HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n'), // 400 from the parser
    ];
    for (const body of bodies) {
      expect(body).toMatch(/^\{"type":"urn:falco-alert-receiver:problem:[^\n]*\}\n$/);
      expect(JSON.parse(body)).toHaveProperty('status');
    }
  });

  it('counts a body cut short as incomplete_body and keeps serving', async () => {
    const incomplete = () =>
      metricValue(built.metrics.registry, 'falco_alerts_rejected_total', { reason: 'incomplete_body' });
    const before = await incomplete();
    const raw = await openRaw(port);
    raw.write(
      `POST /alerts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${sample.length}\r\n\r\n`,
    );
    raw.write(sample.subarray(0, 100));
    await new Promise((resolve) => setTimeout(resolve, 50));
    raw.socket.destroy();
    await expect.poll(incomplete).toBe(before + 1);
    expect((await post(port, sample, false)).status).toBe(202);
  });

  it('logs a pretty-printed alert (newlines between tokens) on one line, every digit kept', async () => {
    const pretty = `\uFEFF${JSON.stringify(JSON.parse(sample.toString('utf8')), null, 2)}\n`.replace(
      /"evt\.time": \d+/,
      `"evt.time": ${/"evt\.time":(\d+)/.exec(sample.toString('utf8'))?.[1]}`,
    );
    const lines = built.rawLogLines.length;
    expect((await post(port, Buffer.from(pretty), false)).status).toBe(202);
    const line = built.rawLogLines.slice(lines).find((text) => text.includes('"falco_alert"'));
    expect(line).not.toContain('\n');
    expect(line).toMatch(
      new RegExp(`"evt\\.time": *${/"evt\.time":(\d+)/.exec(sample.toString('utf8'))?.[1]}[,}]`),
    );
    const parsed = parseJson(line ?? '');
    const original = parseJson(sample.toString('utf8'));
    expect(parsed.ok && original.ok && (parsed.value as { alert: unknown }).alert).toEqual(
      original.ok && original.value,
    );
  });

  it.each([false, true])(
    'logs every field of a pretty-printed alert with 150 output fields and a bigint (through Express: %s)',
    async (viaExpress) => {
      const fields = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`f.${i}`, i]));
      const alert = {
        rule: 'r',
        priority: 'Notice',
        time: '2026-12-01T10:00:00.123456789Z',
        output_fields: fields,
      };
      const pretty = JSON.stringify(alert, null, 2).replace('"f.0": 0', '"f.0": 1764583200123456789');
      const lines = built.rawLogLines.length;

      expect((await post(port, Buffer.from(pretty), viaExpress)).status).toBe(202);
      const line = built.rawLogLines.slice(lines).find((text) => text.includes('"falco_alert"')) ?? '';
      expect(line).not.toContain('\n');
      const logged = parseJson(line);
      const expected = parseJson(pretty);
      expect(logged.ok && expected.ok && (logged.value as { alert: unknown }).alert).toEqual(
        expected.ok && expected.value,
      );
    },
  );

  describe("Falco's own requests", () => {
    const alert = readFixture('own/valid/v46-real-0341-pk-iso8601-no-output-no-tags.json');
    const request = (extra = '') => falcoHead(port, alert.length, extra) + alert.toString('latin1');

    it('accepts 0.34 and 0.35: a new connection for every alert', async () => {
      for (let i = 0; i < 3; i++) {
        const connection = await openRaw(port);
        connection.write(request());
        await expect.poll(() => statusLines(connection)).toEqual(['HTTP/1.1 202']);
        connection.socket.destroy();
      }
    });

    it('accepts 0.36+: one reused connection, alert after alert', async () => {
      const connection = await openRaw(port);
      for (let i = 1; i <= 3; i++) {
        connection.write(request());
        await expect.poll(() => statusLines(connection).length).toBe(i);
      }
      expect(statusLines(connection)).toEqual(['HTTP/1.1 202', 'HTTP/1.1 202', 'HTTP/1.1 202']);
      expect(connection.isClosed()).toBe(false);
      connection.socket.destroy();
    });

    it('accepts compress_uploads (0.37+): libcurl asks for a compressed answer with TE, the body stays plain', async () => {
      const connection = await openRaw(port);
      for (let i = 1; i <= 2; i++) {
        connection.write(request('Connection: TE\r\nTE: gzip\r\n'));
        await expect.poll(() => statusLines(connection).length).toBe(i);
      }
      expect(statusLines(connection)).toEqual(['HTTP/1.1 202', 'HTTP/1.1 202']);
      // An empty 202 needs no coding, and the connection stays open for the next alert.
      expect(connection.received()).not.toMatch(/^(Transfer|Content)-Encoding:/im);
      expect(connection.isClosed()).toBe(false);
      connection.socket.destroy();
    });

    it('answers 100 Continue to the Expect libcurl sends before a large body, then accepts the body', async () => {
      const connection = await openRaw(port);
      connection.write(falcoHead(port, alert.length, 'Expect: 100-continue\r\n'));
      await expect.poll(() => connection.received()).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n$/);
      connection.write(alert);
      await expect.poll(() => statusLines(connection)).toEqual(['HTTP/1.1 100', 'HTTP/1.1 202']);
      connection.socket.destroy();
    });
  });
});

describe('isPlainAlertPost: which requests take the fast path', () => {
  const request = (method: string, url: string, headers: http.IncomingHttpHeaders) =>
    ({ method, url, headers }) as http.IncomingMessage;
  const json = { 'content-type': 'application/json', 'content-length': '900' };

  it.each([
    ['Falco 0.44', 'POST', '/alerts', json, true],
    ['falcosidekick-style URL', 'POST', '/', json, true],
    ['no Content-Type (curl --data-binary)', 'POST', '/alerts', { 'content-length': '9' }, true],
    ['identity coding', 'POST', '/alerts', { ...json, 'content-encoding': 'identity' }, true],
    ['empty coding list', 'POST', '/alerts', { ...json, 'content-encoding': '' }, true],
    ['identity twice', 'POST', '/alerts', { ...json, 'content-encoding': 'Identity, , identity' }, true],
    ['identity then gzip', 'POST', '/alerts', { ...json, 'content-encoding': 'identity, gzip' }, false],
    ['a query string', 'POST', '/alerts?x=1', json, false],
    ['another method', 'PUT', '/alerts', json, false],
    ['another path', 'POST', '/alerts/x', json, false],
    [
      'chunked',
      'POST',
      '/alerts',
      { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      false,
    ],
    ['over the limit', 'POST', '/alerts', { ...json, 'content-length': '1025' }, false],
    ['gzip', 'POST', '/alerts', { ...json, 'content-encoding': 'gzip' }, false],
    ['text/plain (json_output: false)', 'POST', '/alerts', { ...json, 'content-type': 'text/plain' }, false],
    ['latin1', 'POST', '/alerts', { ...json, 'content-type': 'application/json; charset=latin1' }, false],
  ])('%s: %s %s -> %s', (_name, method, url, headers, expected) => {
    expect(isPlainAlertPost(request(method, url, headers), 1024)).toBe(expected);
  });
});
