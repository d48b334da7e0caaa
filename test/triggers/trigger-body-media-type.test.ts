import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/server/start-server.js';
import { buildTriggerApp, type TriggerApp } from '../helpers/build-trigger-app.js';

const TOKEN = 'test-token-0123456789abcdef';
const ENV = {
  TRIGGERS_ENABLED: 'true',
  TRIGGER_TOKEN: TOKEN,
  TRIGGER_ALLOWED_NAMESPACES: 'falco-canary',
  TRIGGER_ALLOWED_IMAGES: 'busybox:1.36',
  // No tool is reachable: a run that starts anyway fails without touching a cluster.
  TRIGGER_KUBECONFIG: '/nonexistent/kubeconfig',
};

interface Answer {
  status: number;
  type: string;
  body: string;
}

// Sent with node:http so the framing is exactly what the test says: chunked (no Content-Length)
// or with a length.
function call(
  port: number,
  method: string,
  path: string,
  options: { body?: string; chunked?: boolean; contentType?: string },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { authorization: `Bearer ${TOKEN}` };
    if (options.contentType) headers['content-type'] = options.contentType;
    if (options.body !== undefined && !options.chunked)
      headers['content-length'] = Buffer.byteLength(options.body);
    if (options.chunked) headers['transfer-encoding'] = 'chunked';
    const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: text }),
      );
    });
    req.on('error', reject);
    if (options.body !== undefined) {
      // Two writes, so the body really arrives in more than one chunk.
      req.write(options.body.slice(0, 5));
      req.write(options.body.slice(5));
    }
    req.end();
  });
}

// Regression (issue 18 point 9): `Content-Type: text/plain` + `Transfer-Encoding: chunked` +
// `{"image":"evil"}` answered 202 and started a run with the defaults, the body dropped unread.
describe('trigger bodies must be JSON, chunked or with a length', () => {
  let built: TriggerApp;
  let server: http.Server;
  let port: number;

  beforeAll(async () => {
    built = buildTriggerApp(ENV);
    server = await startServer(built.app, { host: '127.0.0.1', port: 0 });
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await built.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const runs = async () =>
    (JSON.parse((await call(port, 'GET', '/triggers', {})).body) as { runs: unknown[] }).runs.length;

  const refused: Array<[string, { chunked: boolean; contentType?: string }]> = [
    ['chunked text/plain', { chunked: true, contentType: 'text/plain' }],
    ['chunked without a Content-Type', { chunked: true }],
    ['chunked form data', { chunked: true, contentType: 'application/x-www-form-urlencoded' }],
    ['text/plain with a Content-Length', { chunked: false, contentType: 'text/plain' }],
  ];
  for (const path of ['/triggers/shell', '/triggers/event-generator']) {
    for (const [what, framing] of refused) {
      it(`answers 415 to ${what} on ${path} and starts no run`, async () => {
        const before = await runs();

        const answer = await call(port, 'POST', path, { body: '{"image":"evil"}', ...framing });

        expect(answer.status).toBe(415);
        expect(answer.type).toContain('application/problem+json');
        expect(JSON.parse(answer.body)).toMatchObject({
          status: 415,
          detail: 'Send the body as application/json.',
          header: 'Content-Type',
        });
        const audit = built.logs.filter((line) => line.event === 'trigger_audit').at(-1);
        expect(audit).toMatchObject({ outcome: 'invalid', status: 415 });
        expect(await runs()).toBe(before);
      });
    }
  }

  it('reads a chunked application/json body and validates it (400 naming /image)', async () => {
    const answer = await call(port, 'POST', '/triggers/shell', {
      body: '{"image":"evil"}',
      chunked: true,
      contentType: 'application/json; charset=utf-8',
    });

    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/image']);
  });

  // Regression: a gzip body was inflated and started a run, while the refusal of another charset
  // said to send it "without a content coding".
  it('answers 415 to a gzip body and starts no run', async () => {
    const before = await runs();
    const body = gzipSync('{"backend":"docker"}');

    const status = await new Promise<number>((resolve, reject) => {
      const headers = {
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'content-length': body.length,
      };
      http
        .request({ host: '127.0.0.1', port, method: 'POST', path: '/triggers/shell', headers }, (res) => {
          res.resume().on('end', () => resolve(res.statusCode ?? 0));
        })
        .on('error', reject)
        .end(body);
    });

    expect(status).toBe(415);
    expect(await runs()).toBe(before);
  });

  // Regression (review of f9332de): ingest takes a Content-Encoding list naming identity alone
  // (repeated headers, which Node joins with commas), but express.json compared it whole, so the
  // same body was 415 here.
  it('takes a body whose Content-Encoding names identity alone, repeated, as ingest does', async () => {
    const before = await runs();
    const body = '{"backend":"docker"}';

    const status = await new Promise<number>((resolve, reject) => {
      // Two Content-Encoding lines, as raw header pairs (no Host is added to those).
      const headers = [
        ['host', `127.0.0.1:${port}`],
        ['authorization', `Bearer ${TOKEN}`],
        ['content-type', 'application/json'],
        ['content-encoding', 'identity'],
        ['content-encoding', 'Identity'],
        ['content-length', String(body.length)],
      ].flat();
      http
        .request({ host: '127.0.0.1', port, method: 'POST', path: '/triggers/shell', headers }, (res) => {
          res.resume().on('end', () => resolve(res.statusCode ?? 0));
        })
        .on('error', reject)
        .end(body);
    });

    expect(status).toBe(202);
    expect(await runs()).toBe(before + 1);
  });

  it('still starts a run with defaults for a POST without a body', async () => {
    const before = await runs();

    const answer = await call(port, 'POST', '/triggers/event-generator', {});

    expect(answer.status).toBe(202);
    expect(await runs()).toBe(before + 1);
  });

  // Regression: express.json took a repeated key silently (the last won), while ingest refuses it
  // (400 naming the key): two readers that disagree on which copy wins is how a body is smuggled
  // past a check. An escaped spelling of the key is the same key.
  it.each([
    ['/triggers/shell', '{"backend":"docker","backend":"docker"}', '/backend'],
    ['/triggers/shell', '{"backend":"docker","back\\u0065nd":"docker"}', '/backend'],
    [
      '/triggers/event-generator',
      '{"namespace":"falco-canary","actions":"^syscall","namespace":"falco-canary"}',
      '/namespace',
    ],
  ])('answers 400 naming the key to %s with %s, audited, and starts no run', async (path, body, pointer) => {
    const before = await runs();

    const answer = await call(port, 'POST', path, { body, contentType: 'application/json' });

    expect(answer.status).toBe(400);
    expect(answer.type).toContain('application/problem+json');
    expect(JSON.parse(answer.body)).toMatchObject({
      type: 'urn:falco-alert-receiver:problem:malformed-json',
      detail: 'Duplicate key: an object repeats a key',
      errors: [{ pointer, detail: 'Duplicate key: an object repeats a key' }],
    });
    const audit = built.logs.filter((line) => line.event === 'trigger_audit').at(-1);
    expect(audit).toMatchObject({ outcome: 'invalid', status: 400 });
    expect(await runs()).toBe(before);
  });

  // express.json read the whole rest of a body past its limit before answering (body-parser's
  // dump), so a client streaming a chunked body never got its 413; ingest's reader stops at the cap.
  it('answers 413 as soon as a chunked body passes 16 KB, with Connection: close, the rest unread', async () => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    let answer = '';
    socket.setEncoding('latin1').on('data', (chunk: string) => (answer += chunk));
    const chunk = `{"namespace":"${'a'.repeat(20_000)}`;
    socket.write(
      `POST /triggers/shell HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n` +
        `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n` +
        `${chunk.length.toString(16)}\r\n${chunk}\r\n`,
    );
    try {
      // The body is never ended: only a reader that stops at the cap answers.
      await expect.poll(() => answer, { timeout: 3_000 }).toMatch(/^HTTP\/1\.1 413 /);
      expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    } finally {
      socket.destroy();
    }
  });
});
