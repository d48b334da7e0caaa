import { describe, expect, it } from 'vitest';
import { createTextRing, type TextSlot } from '../../src/alerts/text-ring.js';

// The FIFO the memory store keeps around the ring: at most `maxTexts`, and room made by letting go
// of the oldest text until the ring has a slot.
function fifo(capacity: number, maxTexts = Infinity) {
  const ring = createTextRing(capacity);
  const held: Array<{ text: string; slot: TextSlot }> = [];
  let bytes = 0;
  const dropOldest = () => (bytes -= held.shift()!.slot.length);
  const state = () => ({ oldest: held[0]?.slot.offset, bytes });
  return {
    ring,
    held,
    add(text: string): boolean {
      const length = Buffer.byteLength(text);
      while (held.length >= maxTexts) dropOldest();
      let slot: TextSlot | undefined;
      while ((slot = ring.place(length, state())) === undefined && held.length > 0) dropOldest();
      if (!slot) return false;
      ring.write(text, slot);
      held.push({ text, slot });
      bytes += length;
      return true;
    },
    read: (slot: TextSlot) => ring.read(slot),
  };
}

let seed = 7;
const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

describe('createTextRing', () => {
  it('never overwrites a held text: every held text reads back as written, over many wraps and growths', () => {
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

  it('stays about twice the held texts when fewer are held than the capacity allows', () => {
    // 100 texts of about 1.2 KB held (120 KB) with a 32 MiB capacity: the buffer stops growing early.
    const store = fifo(32 * 1024 * 1024, 100);
    for (let i = 0; i < 20_000; i++) {
      const text = `{"n":${i},"output":"${'x'.repeat(1100 + (i % 200))}"}`;
      expect(store.add(text)).toBe(true);
    }
    expect(store.held).toHaveLength(100);
    expect(store.ring.allocated()).toBeLessThanOrEqual(512 * 1024);
    for (const { text: want, slot } of store.held) expect(store.read(slot)).toBe(want);
  });

  it('grows to the capacity when the held texts need it, and gives no slot to a text longer than it', () => {
    const store = fifo(1024 * 1024);
    for (let i = 0; i < 2000; i++) store.add(`${i}${'y'.repeat(999)}`);
    expect(store.ring.allocated()).toBe(1024 * 1024);
    // Almost the whole capacity is held: about 1,000 texts of 1 KB.
    expect(store.held.length).toBeGreaterThan(900);
    expect(store.ring.place(1024 * 1024 + 1, { oldest: undefined, bytes: 0 })).toBeUndefined();
  });
});
