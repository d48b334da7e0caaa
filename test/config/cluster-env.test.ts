import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';

describe('WORKERS', () => {
  it('defaults to one process', () => {
    const loaded = loadConfig({});
    expect(loaded.ok && loaded.config.cluster.workers).toBe(1);
  });

  it('means one worker per CPU when 0', () => {
    const loaded = loadConfig({ WORKERS: '0' });
    expect(loaded.ok && loaded.config.cluster.workers).toBe(os.availableParallelism());
  });

  it('rejects a negative count, naming the variable', () => {
    const loaded = loadConfig({ WORKERS: '-1' });
    expect(loaded.ok).toBe(false);
    expect(!loaded.ok && loaded.problems.join('\n')).toMatch(/^WORKERS: /m);
  });
});

describe('WORKER_STUCK_TIMEOUT_MS', () => {
  it('kills a worker silent for 30 s by default, never when 0', () => {
    const byDefault = loadConfig({ WORKERS: '2' });
    expect(byDefault.ok && byDefault.config.cluster.stuckTimeoutMs).toBe(30_000);
    const never = loadConfig({ WORKERS: '2', WORKER_STUCK_TIMEOUT_MS: '0' });
    expect(never.ok && never.config.cluster.stuckTimeoutMs).toBe(0);
  });

  it('rejects a negative, fractional or too short timeout, naming the variable', () => {
    // Below three heartbeats a worker that is fine would be killed.
    for (const value of ['-1', '1.5', 'soon', '1', '2999']) {
      const loaded = loadConfig({ WORKER_STUCK_TIMEOUT_MS: value });
      expect(!loaded.ok && loaded.problems.join('\n')).toMatch(/^WORKER_STUCK_TIMEOUT_MS: /m);
    }
  });
});
