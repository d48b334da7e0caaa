import { describe, expect, it } from 'vitest';
import { createTextRing, type TextSlot } from '../../src/alerts/text-ring.js';

// The FIFO the memory store keeps around the ring: plan, drop the oldest until the spans fit, write.
function fifo(capacity: number) {
  const ring = createTextRing(capacity);
  const held: Array<{ text: string; slot: TextSlot }> = [];
  let used = 0;
  return {
    held,
    add(text: string): boolean {
      const slot = ring.plan(Buffer.byteLength(text));
      if (!slot) return false;
      while (held.length > 0 && used + slot.span > capacity) used -= held.shift()!.slot.span;
      ring.write(text, slot);
      held.push({ text, slot });
      used += slot.span;
      return true;
    },
    read: (slot: TextSlot) => ring.read(slot),
  };
}

describe('createTextRing', () => {
  it('never overwrites a held text: every held text reads back as written, over many wraps and growths', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const store = fifo(300_000);
    for (let i = 0; i < 5000; i++) {
      // 1 byte to 40 KB, with multi-byte characters, so slots straddle the end and the growth steps.
      const size = 1 + Math.floor(random() ** 3 * 40_000);
      const text = `${i}:${'é'.repeat(size % 7)}${'x'.repeat(size)}`;
      expect(store.add(text)).toBe(true);
      for (const { text: want, slot } of store.held.slice(-3)) expect(store.read(slot)).toBe(want);
      if (i % 500 === 0) for (const { text: want, slot } of store.held) expect(store.read(slot)).toBe(want);
    }
    for (const { text: want, slot } of store.held) expect(store.read(slot)).toBe(want);
    expect(store.held.length).toBeGreaterThan(10);
  });

  it('refuses a text longer than the whole ring', () => {
    const ring = createTextRing(10);
    expect(ring.plan(11)).toBeUndefined();
    expect(ring.plan(10)).toEqual({ offset: 0, length: 10, span: 10 });
  });

  it('charges a text that wraps for the tail it skips', () => {
    const ring = createTextRing(10);
    const first = ring.plan(7)!;
    ring.write('abcdefg', first);
    expect(ring.plan(3)).toEqual({ offset: 7, length: 3, span: 3 });
    expect(ring.plan(4)).toEqual({ offset: 0, length: 4, span: 7 });
  });
});
