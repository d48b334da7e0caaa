import { describe, expect, it } from 'vitest';
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
});
