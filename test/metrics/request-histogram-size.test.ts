import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { serveForTest } from '../helpers/serve-for-test.js';
import { buildTestApp } from '../helpers/test-app.js';

// Every route the app serves (and some it does not), each path of a pattern once.
const PATHS = [
  '/',
  '/alerts',
  '/alerts/x',
  '/alerts/stream',
  '/metrics',
  '/healthz',
  '/readyz',
  '/nope',
  '/openapi.json',
  '/triggers',
  '/triggers/x/cancel',
  '/ui/config.json',
  '/ui/logout',
  '/ui/session',
  '/ui/summary',
];
// What moves a request to another status: a wrong Host (421) or Origin (403), a body of the wrong
// media type (415), malformed (400) or too large (413), an Expect that cannot be met.
const VARIANTS: Array<{ headers: Record<string, string>; body?: string }> = [
  { headers: {} },
  { headers: { host: 'elsewhere.example' } },
  { headers: { origin: 'http://elsewhere.example' } },
  { headers: { 'content-type': 'text/plain' }, body: '{}' },
  { headers: { 'content-type': 'application/json' }, body: '{"rule":' },
  { headers: { 'content-type': 'application/json' }, body: 'x'.repeat(2_000_000) },
  { headers: { expect: 'bogus' } },
];

/** Sends one request on its own connection and reads the answer; resolves however it ends. */
function send(base: string, method: string, path: string, variant: (typeof VARIANTS)[number]) {
  return new Promise<void>((resolve) => {
    const { hostname, port } = new URL(base);
    const req = http.request({ host: hostname, port, method, path, headers: variant.headers, agent: false });
    req.on('response', (res) => {
      res.resume().on('end', resolve).on('error', resolve);
      // The stream answers for good.
      if (path === '/alerts/stream') setTimeout(() => req.destroy(), 20);
    });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.end(variant.body);
  });
}

// Regression: Node's parser takes 35 methods, and each was its own series of 15 lines on every
// route it was answered 404 or 405: 289 label sets, 418 KB of /metrics past the 2.8 MB README gave.
describe('the request histogram', () => {
  it('stays within the bound README states when every method is sent to every route', async () => {
    const built = buildTestApp();
    const base = await serveForTest(built.app);

    for (const method of http.METHODS.filter((name) => name !== 'CONNECT'))
      for (const path of PATHS) for (const variant of VARIANTS) await send(base, method, path, variant);

    const text = await built.metrics.registry.metrics();
    const lines = text.split('\n').filter((line) => line.startsWith('http_request_duration_seconds'));
    const methods = new Set(lines.map((line) => /method="([^"]*)"/.exec(line)![1]));
    // RFC 9110's and PATCH (CONNECT never reaches the app), and _OTHER for the 26 others.
    expect([...methods].sort().join(' ')).toBe('DELETE GET HEAD OPTIONS PATCH POST PUT TRACE _OTHER');
    // Each value here has a few digits; a count or a sum can have 16.
    const room = 15;
    expect(Buffer.byteLength(lines.join('\n')) + room * lines.length).toBeLessThan(150_000);
  }, 120_000);
});
