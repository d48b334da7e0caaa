import { afterEach, describe, expect, it } from 'vitest';
import { killSpawned, spawnService } from '../helpers/spawn-service.js';

const countOf = (lines: Record<string, unknown>[], event: string) =>
  lines.filter((line) => line.event === event).reduce((sum, line) => sum + Number(line.count), 0);

describe('counted refusal lines of the service main.ts starts', { timeout: 60_000 }, () => {
  afterEach(killSpawned);

  // main.ts hands createReceiver's flushLines to every listener: the lines a period held back are
  // written when the listeners close at SIGTERM, so the counts add up to the requests refused.
  it('writes what a period held back at the shutdown: the counts add up to the refusals', async () => {
    const service = await spawnService({
      VIEWER_TOKEN: 'viewer-token-0123456789abcdef',
      INGEST_PATH_SECRET: 'path-secret-0123456789abcdef',
      SHUTDOWN_DELAY_MS: '0',
    });
    const base = `http://127.0.0.1:${service.port}`;
    for (let i = 0; i < 30; i += 1) {
      expect((await fetch(`${base}/alerts`)).status).toBe(401);
      const post = await fetch(`${base}/alerts/wrong`, { method: 'POST', body: '{}' });
      expect(post.status).toBe(401);
    }
    expect(countOf(service.lines, 'auth_refused')).toBeLessThan(30);
    expect(countOf(service.lines, 'ingest_unauthorized')).toBeLessThan(30);

    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);

    expect(countOf(service.lines, 'auth_refused')).toBe(30);
    expect(countOf(service.lines, 'ingest_unauthorized')).toBe(30);
  });
});
