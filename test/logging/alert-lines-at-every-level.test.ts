import { readFileSync } from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from '../../src/server/start-server.js';
import { buildTestApp } from '../helpers/test-app.js';

const SAMPLE = readFileSync(
  new URL('../fixtures/falco/samples/valid/001-demo-034-terminal-shell-in-container.json', import.meta.url),
);

// Regression (review): with LOG_LEVEL=warn the service answered 202 and wrote no line for the
// alert, its durable record, anywhere.
describe('the alert line at every LOG_LEVEL', () => {
  let server: http.Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  async function listen(built: ReturnType<typeof buildTestApp>) {
    server = await startServer(built.app, { host: '127.0.0.1', port: 0 });
    const { port } = server.address() as AddressInfo;
    return (body: Buffer | string) =>
      fetch(`http://127.0.0.1:${port}/alerts`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
  }

  it.each(['warn', 'error', 'fatal', 'silent'])(
    'writes each accepted alert line at LOG_LEVEL=%s, and only the service lines that level allows',
    async (level) => {
      const built = buildTestApp({ logLevel: level });
      const post = await listen(built);

      expect((await post(SAMPLE)).status).toBe(202);
      expect((await post('{"rule":1}')).status).toBe(400);

      await expect.poll(() => built.logLines.filter((line) => line.event === 'falco_alert').length).toBe(1);
      const [line] = built.logLines.filter((l) => l.event === 'falco_alert');
      expect(line).toMatchObject({
        level: 'info',
        msg: 'falco alert',
        alert: { rule: 'Terminal shell in container' },
      });
      // The rejection is a warn line: written at warn, not above it.
      const rejected = built.logLines.filter((l) => l.event === 'alert_rejected').length;
      expect(rejected).toBe(level === 'warn' ? 1 : 0);
      expect(built.logLines.every((l) => l.event === 'falco_alert' || l.level !== 'info')).toBe(true);
    },
  );
});
