import http from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type TestReceiver } from '../helpers/start-receiver.js';
import { fuzzCase, loadSampleBodies } from './alert-mutations.js';
import { heapUsedAfterGc } from '../helpers/heap.js';
import { postFuzzCase } from './post-body.js';

// Bounded for `npm test`; `npm run fuzz` runs 100k against the built process.
const RUNS = Number(process.env.FUZZ_RUNS ?? 1500);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const ANSWERS = new Set([202, 400, 415]);
// Live heap after a full collection: the receiver's stores and caps, the harness, and no fuzz body.
// (RSS is no measure of what is kept: under a loaded CI machine garbage waits longer for collection.)
const LIVE_HEAP_LIMIT_BYTES = 256 * 1024 * 1024;

describe('ingest under fuzzed real-format alerts', () => {
  let receiver: TestReceiver;
  let agent: http.Agent;
  const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

  beforeAll(async () => {
    receiver = await startReceiver({ keepLogLines: false });
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  });
  afterAll(async () => {
    agent.destroy();
    await receiver?.close();
  });

  // Deep and wide bodies of up to 1 MB are part of the mix: more time than the default.
  it(
    'answers every mutated body with 202, 400 or 415 over a live connection, never a 5xx',
    { timeout: 90_000 },
    async () => {
      // What failed, named before fast-check's counterexample (which can be a megabyte of bytes).
      let failure = '';
      const property = fc.asyncProperty(fuzzCase(loadSampleBodies()), async (fuzz) => {
        const outcome = await postFuzzCase(agent, receiver.port, fuzz);
        if ('error' in outcome) failure = `connection lost: ${outcome.error}`;
        else if (!ANSWERS.has(outcome.status))
          failure = `status ${outcome.status}: ${outcome.body.slice(0, 300)}`;
        else return;
        throw new Error(`${failure} (body of ${fuzz.body.length} bytes)`);
      });
      try {
        await fc.assert(property, { numRuns: RUNS, seed: SEED, endOnFailure: true });
      } catch (error) {
        // The seed replays the exact run: FUZZ_SEED=<seed> npx vitest run test/fuzz/ingest-fuzz.test.ts
        const message = (error as Error).message;
        throw new Error(`fuzz failed with FUZZ_SEED=${SEED}: ${failure}\n${message.slice(0, 2_000)}`);
      }
    },
  );

  it('leaves Object.prototype unpolluted, the server healthy and memory bounded after the run', async () => {
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const health = await fetch(`http://127.0.0.1:${receiver.port}/healthz`);
    expect(health.status).toBe(200);
    expect(heapUsedAfterGc()).toBeLessThan(LIVE_HEAP_LIMIT_BYTES);
  });
});
