import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { workerPids } from '../helpers/cluster-workers.js';
import { requestOnNewConnection as request } from '../helpers/fresh-connection-request.js';
import { readFixture } from '../helpers/fixtures.js';
import { killSpawned, spawnService, type SpawnedService } from '../helpers/spawn-service.js';

const SAMPLE = readFixture('samples/valid/093-latest-terminal-shell-in-container.json');
const TIMEOUT_MS = 5_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);

describe(`cluster mode with WORKER_STUCK_TIMEOUT_MS=${TIMEOUT_MS}`, () => {
  let service: SpawnedService;
  let workers: number[];
  const listening = () => service.lines.filter((l) => l.event === 'listening').length;

  beforeAll(async () => {
    service = await spawnService(
      { WORKERS: '2', WORKER_STUCK_TIMEOUT_MS: String(TIMEOUT_MS) },
      { timeoutMs: 60_000 },
    );
    await vi.waitFor(() => expect(listening()).toBe(2), { timeout: 60_000, interval: 50 });
    workers = workerPids(service.child);
    expect(workers).toHaveLength(2);
  }, 90_000);

  afterAll(() => {
    for (const pid of workers ?? []) if (alive(pid)) process.kill(pid, 'SIGCONT');
    killSpawned();
  });

  it('leaves a worker whose loop stops for less than the timeout alone', async () => {
    process.kill(workers[0]!, 'SIGSTOP');
    await sleep(TIMEOUT_MS / 5);
    process.kill(workers[0]!, 'SIGCONT');
    await sleep(TIMEOUT_MS);

    expect(workerPids(service.child).sort()).toEqual([...workers].sort());
    expect(service.lines.filter((l) => l.event === 'worker_unresponsive')).toEqual([]);
  });

  it('kills no worker when the primary itself was stopped longer than the timeout (a paused container)', async () => {
    process.kill(service.child.pid!, 'SIGSTOP');
    await sleep(TIMEOUT_MS + 2_000);
    process.kill(service.child.pid!, 'SIGCONT');
    await sleep(2_000);

    expect(workerPids(service.child).sort()).toEqual([...workers].sort());
    expect(service.lines.filter((l) => l.event === 'worker_unresponsive')).toEqual([]);
  }, 30_000);

  it('kills a worker whose loop has not turned for the timeout, replaces it, and counts it', async () => {
    const stuck = workers[1]!;
    process.kill(stuck, 'SIGSTOP');
    await vi.waitFor(() => expect(alive(stuck)).toBe(false), { timeout: TIMEOUT_MS + 5_000, interval: 100 });
    await vi.waitFor(() => expect(listening()).toBe(3), { timeout: 60_000, interval: 50 });

    const [line, ...more] = service.lines.filter((l) => l.event === 'worker_unresponsive');
    expect(more).toEqual([]);
    expect(line).toMatchObject({ level: 'error', pid: stuck });
    expect(line!.silentMs as number).toBeGreaterThan(TIMEOUT_MS);
    expect(workerPids(service.child)).toHaveLength(2);
    expect(workerPids(service.child)).not.toContain(stuck);
    // Both workers serve again, and the scrape counts the kill.
    for (let i = 0; i < 4; i++)
      expect((await request(service.port, 'POST', '/alerts', SAMPLE)).status).toBe(202);
    const scrape = await request(service.port, 'GET', '/metrics');
    expect(scrape.status).toBe(200);
    expect(metric(scrape.body, 'falco_cluster_workers_killed_total')).toBe(1);
    expect(metric(scrape.body, 'falco_metrics_workers_unanswered')).toBe(0);
  }, 90_000);

  // Regression: the primary stopped its watchdog on SIGTERM, so a worker stuck while the others
  // drained (it never runs its SIGTERM handler) held the primary open forever.
  it('still kills a stuck worker while stopping, then exits 1', async () => {
    const [stuck, other] = workerPids(service.child);
    try {
      process.kill(stuck!, 'SIGSTOP');
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(1);
      expect(alive(stuck!)).toBe(false);
      expect(alive(other!)).toBe(false);
      const lines = service.lines.filter((l) => l.event === 'worker_unresponsive');
      expect(lines.at(-1)).toMatchObject({ pid: stuck });
    } finally {
      for (const pid of [stuck!, other!]) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  }, 30_000);
});
