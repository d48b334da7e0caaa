import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { workerPids } from '../helpers/cluster-workers.js';
import { readFixture } from '../helpers/fixtures.js';
import { killSpawned, spawnService, type SpawnedService } from '../helpers/spawn-service.js';

const SAMPLE = readFixture('samples/valid/093-latest-terminal-shell-in-container.json');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An alert posted on a new connection: its status, or the transport error that ended it. */
function postOnNewConnection(port: number): Promise<number | string> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path: '/alerts', agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.setHeader('content-type', 'application/json');
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end(SAMPLE);
  });
}

describe('cluster mode (WORKERS=2) when a worker dies while a connection is being handed to it', () => {
  let service: SpawnedService;
  const listening = () => service.lines.filter((l) => l.event === 'listening').length;

  beforeAll(async () => {
    service = await spawnService({ WORKERS: '2' }, { timeoutMs: 60_000 });
    await vi.waitFor(() => expect(listening()).toBe(2), { timeout: 60_000, interval: 50 });
  }, 90_000);
  afterAll(killSpawned);

  // Regression: node:cluster's primary keeps each connection it hands a worker open until the
  // worker acknowledges it; a worker killed before it did (a crash, the watchdog's SIGKILL) never
  // does, and the client waited forever for an answer with its alert unread.
  it('closes the connection it held for the dead worker, so no client waits forever', async () => {
    const [stuck] = workerPids(service.child);
    process.kill(stuck!, 'SIGSTOP');
    // One at a time until one goes unanswered: round robin hands the stopped worker one of the first two.
    const posts: Array<Promise<number | string>> = [];
    for (let i = 0; i < 10; i++) {
      const post = postOnNewConnection(service.port);
      posts.push(post);
      if ((await Promise.race([post, sleep(300).then(() => 'unanswered')])) === 'unanswered') break;
    }
    process.kill(stuck!, 'SIGKILL');

    const settled = await Promise.race([Promise.all(posts), sleep(5_000).then(() => 'some still waiting')]);
    expect(settled).not.toBe('some still waiting');
    // Refused, not answered: its alert was never read, so Falco can tell it was not taken.
    expect((settled as Array<number | string>).filter((outcome) => outcome !== 202)).toEqual(['ECONNRESET']);
  }, 30_000);
});
