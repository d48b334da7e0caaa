/** Where one text lies in the ring. */
export interface TextSlot {
  offset: number;
  length: number;
}

/** What the ring needs to know of the texts its owner still holds. */
export interface HeldTexts {
  /** Offset of the oldest held text; undefined when none is held. */
  oldest: number | undefined;
  /** Bytes of all held texts. */
  bytes: number;
}

/**
 * Texts kept in one byte buffer used as a ring, oldest overwritten first. A store that keeps its
 * alerts' received text here holds no string per alert: nothing for the garbage collector to copy
 * while an alert is young or to mark once it is old. With strings, each stored 1 KB alert was
 * copied by a scavenge, promoted, and later marked and swept by a full collection.
 *
 * The owner keeps the FIFO: it asks `place` for a slot, and while there is none it lets go of its
 * oldest text. The buffer starts small and grows by half, up to `capacity`, only while the held
 * texts fill more than 3/4 of it; otherwise a write that reaches its end starts again at 0. So it
 * stays within about twice the held texts (a store bounded by count holds far less than its byte
 * budget: 10,000 alerts of 1.2 KB are 12 MB of a 32 MiB default).
 */
export interface TextRing {
  /** The slot for a text of `length` bytes, or undefined: the owner must let go of its oldest text. */
  place(length: number, held: HeldTexts): TextSlot | undefined;
  /** Writes `text` (exactly `slot.length` bytes of UTF-8, or those bytes) at a slot `place` just gave. */
  write(text: string | Buffer, slot: TextSlot): void;
  read(slot: TextSlot): string;
  /** Bytes allocated (for tests and metrics). */
  allocated(): number;
}

const INITIAL_BYTES = 64 * 1024;
// Past this share of the buffer held, a write at its end grows it (by GROWTH) instead of wrapping.
const FULL = 0.75;
const GROWTH = 1.5;

export function createTextRing(capacity: number): TextRing {
  let buffer = Buffer.allocUnsafeSlow(Math.min(capacity, INITIAL_BYTES));
  // Where the next text goes: the end of the newest held one.
  let position = 0;

  return {
    place(length, held) {
      if (length > capacity) return undefined;
      const { oldest } = held;
      // Held texts after the write position: the ring has wrapped, and only the gap up to them is free.
      if (oldest !== undefined && oldest >= position && held.bytes > 0) {
        return position + length <= oldest ? { offset: position, length } : undefined;
      }
      if (position + length <= buffer.length) return { offset: position, length };
      // At the end: start again at 0 while the held texts fill at most 3/4 of the buffer, else grow.
      const roomy = held.bytes + length <= buffer.length * FULL;
      if (buffer.length < capacity && !roomy) {
        const size = Math.max(Math.ceil(buffer.length * GROWTH), position + length);
        const grown = Buffer.allocUnsafeSlow(Math.min(capacity, size));
        buffer.copy(grown);
        buffer = grown;
        if (position + length <= buffer.length) return { offset: position, length };
      }
      // Start again at 0, in front of the oldest held text.
      return oldest === undefined || length <= oldest ? { offset: 0, length } : undefined;
    },
    write(text, slot) {
      if (typeof text === 'string') buffer.write(text, slot.offset, slot.length, 'utf8');
      else text.copy(buffer, slot.offset, 0, slot.length);
      position = slot.offset + slot.length;
    },
    read(slot) {
      return buffer.toString('utf8', slot.offset, slot.offset + slot.length);
    },
    allocated: () => buffer.length,
  };
}
