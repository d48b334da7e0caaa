import { afterEach, describe, expect, it } from 'vitest';
import { cpuSecondsOf } from '../../bench/proc-stats.js';
import { killSpawned, spawnService } from '../helpers/spawn-service.js';

const TOKEN = 'first-run-trigger-token-0123456789';

afterEach(killSpawned);

// The longest answer to GET /healthz, asked one after another on a kept-alive connection while `work`
// runs. An answer counts only the CPU time the service used meanwhile: on a loaded machine (the whole
// suite) it also waits off the CPU, which says nothing of work that held its loop.
async function longestHealthAnswer(pid: number, port: number, work: () => Promise<unknown>): Promise<number> {
  let longest = 0;
  let done = false;
  const probe = (async () => {
    while (!done) {
      const started = performance.now();
      const cpuBefore = cpuSecondsOf(pid);
      await (await fetch(`http://127.0.0.1:${port}/healthz`)).arrayBuffer();
      const cpuMs = (cpuSecondsOf(pid) - cpuBefore) * 1000;
      longest = Math.max(longest, Math.min(performance.now() - started, cpuMs));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  // Warm: the probe's connection is open before the work begins.
  await new Promise((resolve) => setTimeout(resolve, 200));
  longest = 0;
  try {
    await work();
    await new Promise((resolve) => setTimeout(resolve, 100));
  } finally {
    done = true;
    await probe;
  }
  return longest;
}

describe('the first trigger run of a process', () => {
  // Regression (probe of 2026-12-07): the Kubernetes client was imported at the first run, an import
  // that holds the event loop 0.6-1.2 s; every request meanwhile waited, Falco's alerts included.
  it('holds no other request while it starts: the Kubernetes client is loaded before listening', async () => {
    const service = await spawnService(
      { TRIGGERS_ENABLED: 'true', TRIGGER_TOKEN: TOKEN },
      { timeoutMs: 60_000 },
    );
    const longest = await longestHealthAnswer(service.child.pid!, service.port, async () => {
      const res = await fetch(`http://127.0.0.1:${service.port}/triggers/event-generator`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(res.status).toBe(202);
      await res.arrayBuffer();
    });
    expect(longest).toBeLessThan(250);
  }, 90_000);
});
