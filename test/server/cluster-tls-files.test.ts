import cluster, { type Worker } from 'node:cluster';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rememberServedTls, WORKERS_SERVE, type ServedTls } from '../../src/server/cluster-tls-files.js';

const SERVED = 'falco-receiver:tls-served';
const OLD: ServedTls = { cert: 'a'.repeat(64) };
const NEW: ServedTls = { cert: 'b'.repeat(64), ca: 'c'.repeat(64) };

/**
 * The part of a node:cluster Worker the primary's handlers read. A real worker's report cannot be
 * made to arrive after its 'exit' (libuv reads a child's IPC before it handles the SIGCHLD), so the
 * events are emitted on the real `cluster` emitter as node:cluster would emit them.
 */
const worker = (id: number, dead = false) => ({ id, isDead: () => dead }) as unknown as Worker;
const report = (from: Worker, served: ServedTls) => cluster.emit('message', from, { type: SERVED, served });

describe('rememberServedTls (the cluster primary)', () => {
  // Only the listeners this test adds to the process-wide emitter are taken off again.
  const before = { message: [] as unknown[], exit: [] as unknown[] };
  beforeEach(() => {
    before.message = cluster.listeners('message');
    before.exit = cluster.listeners('exit');
  });
  afterEach(() => {
    for (const event of ['message', 'exit'] as const)
      for (const listener of cluster.listeners(event))
        if (!before[event].includes(listener)) cluster.off(event, listener as () => void);
  });

  it('forks a replacement told to serve what the worker up reported last', () => {
    const workerEnv = rememberServedTls();
    report(worker(1), OLD);
    report(worker(2), NEW);

    expect(workerEnv()).toEqual({ [WORKERS_SERVE]: `${NEW.cert} ${NEW.ca}` });
  });

  // Regression: a report delivered after its worker's 'exit' was kept for good (the exit handler
  // that forgets it had run), so every later replacement was told to serve files of a worker gone.
  it('ignores a report from a worker that has exited', () => {
    const workerEnv = rememberServedTls();
    report(worker(1), OLD);
    const gone = worker(2, true);
    cluster.emit('exit', gone, 1, null);
    report(gone, NEW);

    expect(workerEnv()).toEqual({ [WORKERS_SERVE]: OLD.cert });
    cluster.emit('exit', worker(1, true), 0, null);
    expect(workerEnv()).toEqual({ [WORKERS_SERVE]: '' });
  });
});
