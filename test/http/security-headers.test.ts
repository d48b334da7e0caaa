import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAlertId } from '../../src/alerts/alert-ids.js';
import { createLogger } from '../../src/logging/create-logger.js';
import { startReceiver, type TestReceiver } from '../helpers/start-receiver.js';

describe('responses and log lines of the receiver', () => {
  let receiver: TestReceiver;
  const url = (path: string) => `http://127.0.0.1:${receiver.port}${path}`;

  beforeAll(async () => {
    receiver = await startReceiver({ bodyLimitBytes: 1024 });
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it.each([
    ['GET', '/healthz', undefined, 200],
    ['GET', '/metrics', undefined, 200],
    ['GET', '/alerts', undefined, 200],
    ['GET', '/nope', undefined, 404],
    ['POST', '/alerts', '{"rule":', 400],
    ['POST', '/alerts', 'x'.repeat(2048), 413],
  ])('sets the security headers on %s %s (status %s)', async (method, path, body, status) => {
    const response = await fetch(url(path), {
      method,
      body,
      headers: { 'content-type': 'application/json' },
    });

    expect(response.status).toBe(status);
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(response.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('x-powered-by')).toBeNull();
  });

  it('answers a request it cannot decode with a problem and no stack trace', async () => {
    const response = await fetch(url('/alerts/%E0%A4%A'));
    const text = await response.text();

    expect(response.status).toBeLessThan(500);
    expect(text).not.toMatch(/\bat .*\.(js|ts):\d+|node_modules|Error:/);
  });

  it("logs a rejected alert with the request's id, the one sent back in X-Request-Id", async () => {
    const response = await fetch(url('/alerts'), {
      method: 'POST',
      body: '[]',
      headers: { 'x-request-id': 'req-abc.123' },
    });

    expect(response.headers.get('x-request-id')).toBe('req-abc.123');
    expect(receiver.logLines.findLast((line) => line.event === 'alert_rejected')).toMatchObject({
      reqId: 'req-abc.123',
    });
  });

  it.each([
    ['no X-Request-Id', {}],
    ['an unsafe X-Request-Id', { 'x-request-id': 'a b\u00e9' }],
  ])('gives a request with %s a new UUID of its own, on the fast path and in Express', async (_, headers) => {
    const ask = async (path: string, body: string) => {
      const response = await fetch(url(path), {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...headers },
      });
      return { id: response.headers.get('x-request-id') ?? '', alertId: response.headers.get('x-alert-id') };
    };
    const alert = '{"rule":"r","priority":"Notice","time":"2023-05-04T07:28:29.510366389Z"}';
    const answers = [
      await ask('/alerts', alert),
      await ask('/alerts', '{"rule":'),
      await ask('/alerts/nope', '{}'),
      await ask('/alerts/nope', '{}'),
    ];
    const ids = answers.map((answer) => answer.id);

    for (const id of ids) expect(parseAlertId(id), id).toBeDefined();
    expect(new Set(ids).size).toBe(ids.length);
    // Not the alert ids' prefix: a request id never names an alert.
    const alertId = parseAlertId(answers[0]!.alertId ?? '');
    expect(alertId).toBeDefined();
    expect(alertId?.prefix).not.toBe(parseAlertId(ids[0]!)?.prefix);
  });

  it('redacts tokens and authorization headers in any logged object', () => {
    const lines: string[] = [];
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')));
    const logger = createLogger({ level: 'info', destination });

    logger.info(
      { token: 't0ken-1', req: { headers: { authorization: 'Bearer t0ken-2', cookie: 'c' } } },
      'x',
    );

    expect(lines.join('')).not.toMatch(/t0ken-1|t0ken-2/);
    expect(lines.join('')).toContain('[redacted]');
  });

  it("leaves an alert's own fields alone, even one named token", () => {
    const lines: string[] = [];
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')));
    createLogger({ level: 'info', destination }).info({ alert: { token: 'from-falco' } }, 'falco alert');
    expect(lines.join('')).toContain('"token":"from-falco"');
  });
});
