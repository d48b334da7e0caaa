/** Where one text lies in the ring, and how many ring bytes it uses. */
export interface TextSlot {
  offset: number;
  length: number;
  /** `length`, plus the tail of the ring it skipped when it wrapped to the start. */
  span: number;
}

/**
 * Texts kept in one byte buffer used as a ring, oldest overwritten first. A store that keeps its
 * alerts' received text here holds no string per alert: nothing for the garbage collector to copy
 * while an alert is young or to mark once it is old. With strings, each stored 1 KB alert was
 * copied by a scavenge, promoted, and later marked and swept by a full collection: 10 % of the
 * ingest CPU with a keep-alive client, 15 % with a connection per alert.
 *
 * The caller keeps the FIFO: it plans a slot, removes its oldest texts until the spans it still
 * holds plus the slot's span fit `capacity`, then writes. The ring's live bytes are then one
 * circular run ending at the write position, so a write never lands on a held text.
 */
export interface TextRing {
  /** The slot a text of `length` bytes goes to next; undefined when it is longer than the whole ring. */
  plan(length: number): TextSlot | undefined;
  /** Writes `text` (exactly `slot.length` bytes of UTF-8) at a slot `plan` just gave. */
  write(text: string, slot: TextSlot): void;
  read(slot: TextSlot): string;
}

/** The buffer starts this small and doubles up to the capacity, so an idle store holds little. */
const INITIAL_BYTES = 64 * 1024;

export function createTextRing(capacity: number): TextRing {
  let buffer = Buffer.allocUnsafeSlow(Math.min(capacity, INITIAL_BYTES));
  let position = 0;

  // Offsets are positions in the capacity, so growing copies the old buffer to the same offsets.
  const ensure = (end: number) => {
    if (end <= buffer.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.min(capacity, Math.max(end, buffer.length * 2)));
    buffer.copy(grown);
    buffer = grown;
  };

  return {
    plan(length) {
      if (length > capacity) return undefined;
      if (position + length <= capacity) return { offset: position, length, span: length };
      return { offset: 0, length, span: capacity - position + length };
    },
    write(text, slot) {
      ensure(slot.offset + slot.length);
      buffer.write(text, slot.offset, slot.length, 'utf8');
      position = slot.offset + slot.length;
    },
    read(slot) {
      return buffer.toString('utf8', slot.offset, slot.offset + slot.length);
    },
  };
}
