import { describe, expect, it, vi } from 'vitest';
import { createAddressCounts } from '../../src/server/address-counts.js';

describe('createAddressCounts', () => {
  it('counts per address, never below zero', () => {
    const counts = createAddressCounts();
    counts.add('10.0.0.1');
    counts.add('10.0.0.1');
    counts.add('fd00::2');
    counts.remove('10.0.0.1');
    expect(counts.get('10.0.0.1')).toBe(1);
    expect(counts.get('fd00::2')).toBe(1);
    counts.remove('fd00::2');
    counts.remove('fd00::2');
    counts.remove('never-seen');
    expect(counts.get('fd00::2')).toBe(0);
    expect(counts.get('never-seen')).toBe(0);
  });

  it('drops the addresses at zero once it holds `pruneAt` of them, and keeps every live count', () => {
    const counts = createAddressCounts(4);
    counts.add('busy');
    for (let i = 0; i < 100; i++) {
      counts.add(`client-${i}`);
      counts.remove(`client-${i}`);
    }
    expect(counts.get('busy')).toBe(1);
    // Bounded: a flood of addresses that come and go leaves at most pruneAt entries behind.
    expect(counts.size()).toBeLessThanOrEqual(4);
    expect(counts.get('client-0')).toBe(0);
    counts.add('client-0');
    expect(counts.get('client-0')).toBe(1);
  });

  it('counts amounts (bytes held), never below zero', () => {
    const counts = createAddressCounts();
    counts.add('10.0.0.1', 800);
    counts.add('10.0.0.1', 200);
    counts.remove('10.0.0.1', 300);
    expect(counts.get('10.0.0.1')).toBe(700);
    counts.remove('10.0.0.1', 5000);
    expect(counts.get('10.0.0.1')).toBe(0);
  });

  it('copies entries a bounded number of times per new address however many addresses are live', () => {
    const counts = createAddressCounts(64);
    // 1,000 addresses hold a connection each (above pruneAt), then 2,000 come and go.
    for (let i = 0; i < 1_000; i++) counts.add(`held-${i}`);
    const sets = vi.spyOn(Map.prototype, 'set');
    try {
      for (let i = 0; i < 2_000; i++) {
        counts.add(`probe-${i}`);
        counts.remove(`probe-${i}`);
      }
      // A rebuild per new address copied the 1,000 live entries each time (2,000,000 sets).
      expect(sets.mock.calls.length).toBeLessThan(10 * 2_000);
    } finally {
      sets.mockRestore();
    }
    // Still bounded: the zeros went once they were half the entries, and every live count stayed.
    expect(counts.size()).toBeLessThanOrEqual(2 * 1_000 + 1);
    expect(counts.get('held-999')).toBe(1);
    expect(counts.get('probe-1999')).toBe(0);
  });
});
