import http from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MountedSecret } from '../helpers/mounted-secret.js';
import { killSpawned, spawnService } from '../helpers/spawn-service.js';
import { until } from '../helpers/until.js';

const ALERT = readFileSync(
  new URL('../fixtures/falco/samples/valid/093-latest-terminal-shell-in-container.json', import.meta.url),
);
const OLD = 'old-path-secret-0123456789';
const NEW = 'new-path-secret-9876543210';

/** A POST on a connection of its own: node:cluster hands each new connection to the next worker. */
function postOnNewConnection(port: number, urlPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: urlPath,
        agent: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(ALERT);
  });
}

async function statuses(port: number, urlPath: string, count: number): Promise<number[]> {
  const seen: number[] = [];
  for (let i = 0; i < count; i++) seen.push(await postOnNewConnection(port, urlPath));
  return seen;
}

// Each worker has its own watcher: a rotation is only done when every worker has read the file.
describe('token files with WORKERS=2', () => {
  afterEach(() => killSpawned());

  it('every worker reads a changed file, and the refusal gauge is one per pod, the reload counts one per worker', async () => {
    const secret = new MountedSecret(mkdtempSync(path.join(tmpdir(), 'cluster-secret-')));
    const sources = mkdtempSync(path.join(tmpdir(), 'cluster-sources-'));
    let version = 0;
    const update = (text: string) => {
      const source = path.join(sources, `secret-${++version}`);
      writeFileSync(source, text);
      secret.write({ secret: source });
    };
    update(`${OLD}\n`);
    const service = await spawnService({
      WORKERS: '2',
      INGEST_PATH_SECRET_FILE: secret.path('secret'),
      TOKEN_RELOAD_CHECK_MS: '100',
      LOG_LEVEL: 'info',
    });
    const events = (event: string) => service.lines.filter((line) => line.event === event);
    // Both workers up before the rotation: one started after it reads the new file at start.
    await until(async () => events('listening').length === 2, 20_000, 'both workers listening');
    expect(await statuses(service.port, `/alerts/${OLD}`, 4)).toEqual([202, 202, 202, 202]);

    update(`${NEW}\n`);
    await until(async () => events('token_reloaded').length === 2, 10_000, 'both workers to read the file');
    expect(await statuses(service.port, `/alerts/${NEW}`, 6)).toEqual([202, 202, 202, 202, 202, 202]);
    expect(await statuses(service.port, `/alerts/${OLD}`, 4)).toEqual([401, 401, 401, 401]);

    update('short\n');
    await until(async () => events('token_reload_failed').length === 2, 10_000, 'both workers to refuse it');
    const metrics = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
    expect(metrics).toMatch(/^falco_token_reload_failing\{file="INGEST_PATH_SECRET_FILE"\} 1$/m);
    expect(metrics).toMatch(
      /^falco_token_reloads_total\{file="INGEST_PATH_SECRET_FILE",result="failed"\} 2$/m,
    );
    expect(metrics).toMatch(
      /^falco_token_reloads_total\{file="INGEST_PATH_SECRET_FILE",result="reloaded"\} 2$/m,
    );
    expect(await statuses(service.port, `/alerts/${NEW}`, 4)).toEqual([202, 202, 202, 202]);
  }, 60_000);
});
