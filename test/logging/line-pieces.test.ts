import { describe, expect, it } from 'vitest';
import { createLinePieces, PIECE_SOURCE_BYTES } from '../../src/logging/line-pieces.js';

describe('createLinePieces', () => {
  it('writes a long line a piece at a time, each ending between two characters', () => {
    const writes: Buffer[] = [];
    const writeInPieces = createLinePieces((bytes) => writes.push(Buffer.from(bytes)));
    // 3-byte characters given as bytes: 64 KiB is not a whole number of them.
    const text = `{"a":"${'€'.repeat(PIECE_SOURCE_BYTES)}"}\n`;
    writeInPieces(['{"a":"', Buffer.from('€'.repeat(PIECE_SOURCE_BYTES)), '"}\n']);
    expect(writes.length).toBe(4);
    expect(writes.map((bytes) => bytes.toString()).join('')).toBe(text);
    for (const bytes of writes) expect(Buffer.from(bytes.toString()).equals(bytes)).toBe(true);
  });

  // A destination that fails a write may keep its bytes to write again later (sonic-boom does).
  it('writes the next line into new buffers once a write threw, leaving the failed bytes as they were', () => {
    let kept: Buffer | undefined;
    const writes: string[] = [];
    const writeInPieces = createLinePieces((bytes) => {
      if (kept === undefined) {
        kept = bytes;
        throw new Error('EIO');
      }
      writes.push(bytes.toString());
    });
    const line = (char: string) => `{"a":"${char.repeat(2 * PIECE_SOURCE_BYTES)}"}\n`;
    expect(() => writeInPieces([line('\u007f')])).toThrow('EIO');
    const failed = Buffer.from(kept!);
    writeInPieces([line('\u0085')]);
    expect(kept!.equals(failed)).toBe(true);
    expect(writes.join('')).toBe(line('\\u0085'));
  });
});
