import type { LinePart } from './line-group.js';
import { ESCAPED_BYTES_MAX, logSafeBytes } from './log-safe.js';

/**
 * Bytes of a long line's UTF-8 escaped and written at a time. Built whole and escaped whole, a
 * 1.75 MiB alert of DEL took 1.75 MB and then 11 MB at once (a probe's 32 senders of them: RSS
 * ~308 MB, near the pod's 320 MiB limit); in pieces it takes these two buffers, 448 KiB for good.
 */
export const PIECE_SOURCE_BYTES = 64 * 1024;

const CONTINUATION_MASK = 0xc0;
const CONTINUATION = 0x80;

/**
 * Writes one line, given in parts, a piece of at most PIECE_SOURCE_BYTES of its UTF-8 at a time,
 * each escaped into the same buffer and written before the next is made. A piece ends between two
 * characters, so every escape is within one, and the bytes written are the line's escaped at once.
 * They are several writes: only a line longer than the commit's write limit, no whole write anyway.
 * The buffers are dropped when a write throws: the destination may keep the bytes to write again.
 */
export function createLinePieces(write: (bytes: Buffer) => void): (parts: readonly LinePart[]) => void {
  let buffers: { source: Buffer; escaped: Buffer } | undefined;
  const encoder = new TextEncoder();
  return (parts) => {
    const { source, escaped } = (buffers ??= {
      source: Buffer.allocUnsafeSlow(PIECE_SOURCE_BYTES),
      escaped: Buffer.allocUnsafeSlow(PIECE_SOURCE_BYTES * ESCAPED_BYTES_MAX),
    });
    let filled = 0;
    // Writes the piece's whole characters, and moves the start of one it cuts to the front.
    const writePiece = (end: number) => {
      try {
        write(logSafeBytes(source.subarray(0, end), escaped));
      } catch (error) {
        buffers = undefined;
        throw error;
      }
      filled = source.copy(source, 0, end, filled);
    };
    for (const part of parts) {
      if (typeof part === 'string') {
        // encodeInto takes whole characters (a surrogate pair is one), as a string's encoding does.
        for (let at = 0; ;) {
          const { read, written } = encoder.encodeInto(
            at === 0 ? part : part.slice(at),
            source.subarray(filled),
          );
          at += read;
          filled += written;
          if (at === part.length) break;
          writePiece(filled);
        }
      } else {
        for (let at = 0; at < part.length;) {
          if (filled === source.length) writePiece(characterEnd(source, filled));
          const copied = part.copy(source, filled, at);
          at += copied;
          filled += copied;
        }
      }
    }
    if (filled > 0) writePiece(filled);
  };
}

/** Where the last whole character of UTF-8 `bytes` up to `end` ends. */
function characterEnd(bytes: Buffer, end: number): number {
  // A character is at most 4 bytes: its first is within the last 4 when it is cut.
  for (let at = end - 1; at >= end - 4 && at >= 0; at--) {
    const byte = bytes[at]!;
    if ((byte & CONTINUATION_MASK) === CONTINUATION) continue;
    const length = byte < 0x80 ? 1 : byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
    return at + length > end ? at : end;
  }
  return end;
}
