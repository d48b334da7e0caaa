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
