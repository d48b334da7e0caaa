import { pino, type DestinationStream } from 'pino';
import { createLinePieces } from './line-pieces.js';
import { logSafeBytes, logSafeText } from './log-safe.js';

/** A piece of a log line: text, or UTF-8 bytes copied as they are (an alert's received body). */
export type LinePart = string | Buffer;

/**
 * Group commit for log lines: while a group is open, lines are held and then written together by
 * `commit()`, a few writes per event-loop turn instead of one system call per alert. Outside a
 * group a line is written at once, so a caller that never opens one sees no difference. Either
 * way DEL, C1 controls, U+2028 and U+2029 are escaped, as in pino's own lines (log-safe.ts).
 */
export interface LineGroup {
  /** Writes `line` (ending in a newline) now, or at the next commit while a group is open. */
  write(line: string): void;
  /**
   * The same for one line given in pieces (the last ending in a newline). Held, its pieces are
   * encoded one by one into the commit's bytes: an alert's received text goes into them without
   * being copied into a line string first (for a 25 KB alert a quarter of what its ingest allocates),
   * and a piece given as bytes is copied, not encoded.
   */
  writeParts(parts: readonly LinePart[]): void;
  open(): void;
  /**
   * Writes the held lines, whole lines per write (a line longer than the write limit in pieces of its
   * own), and closes the group; throws what the write throws.
   */
  commit(): void;
}

/**
 * A write to a pipe of at most PIPE_BUF (4096 bytes on Linux) is never interleaved with another
 * process's writes: cluster workers sharing the primary's stdout pass this as `maxWriteBytes`.
 */
export const PIPE_ATOMIC_BYTES = 4096;
// sonic-boom (pino's destination) splits anything longer into writes of this size anyway.
const DEFAULT_MAX_WRITE_BYTES = 16 * 1024;

const NEWLINE = 10;

/**
 * `bytes` (whole lines) cut at line ends into pieces of at most `max` bytes; a line longer than
 * `max` is a piece of its own.
 */
export function cutAtLines(bytes: Buffer, max: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let start = 0; start < bytes.length;) {
    let end = bytes.length;
    if (end - start > max) {
      end = bytes.lastIndexOf(NEWLINE, start + max - 1) + 1;
      if (end <= start) {
        const next = bytes.indexOf(NEWLINE, start);
        end = next === -1 ? bytes.length : next + 1;
      }
    }
    pieces.push(bytes.subarray(start, end));
    start = end;
  }
  return pieces;
}

/**
 * Where a commit's bytes go. When `stream` is a synchronous file descriptor destination (pino's
 * sonic-boom, as createLogger makes it), a second sonic-boom on the same descriptor takes bytes:
 * the lines are encoded once. Through pino's own (text) destination each write measured its text
 * twice, encoded it for the write and then again to account for what was written (25 KB alerts:
 * 91-142 us of user CPU per alert before, 78-95 after; 1 KB ones within the noise). Both write
 * synchronously, so the lines of the two stay in order. Any other stream gets text.
 */
function bytesTo(stream: DestinationStream): (bytes: Buffer) => void {
  const { fd, sync } = stream as { fd?: unknown; sync?: unknown };
  if (typeof fd !== 'number' || sync !== true) return (bytes) => stream.write(bytes.toString('utf8'));
  const out = pino.destination({ dest: fd, sync: true, contentMode: 'buffer' } as { dest: number });
  // In contentMode 'buffer' sonic-boom takes Buffers (its types only name strings).
  return (bytes) => out.write(bytes as unknown as string);
}

export function createLineGroup(
  stream: DestinationStream,
  maxWriteBytes: number = DEFAULT_MAX_WRITE_BYTES,
): LineGroup {
  // Each held line as its pieces (a whole line is one piece).
  let held: Array<readonly LinePart[]> = [];
  let isOpen = false;
  let out: ((bytes: Buffer) => void) | undefined;
  let writeInPieces: ((parts: readonly LinePart[]) => void) | undefined;
  return {
    write(line) {
      if (isOpen) held.push([line]);
      else stream.write(logSafeText(line));
    },
    writeParts(parts) {
      if (isOpen) held.push(parts);
      else stream.write(logSafeText(parts.map(String).join('')));
    },
    open() {
      isOpen = true;
    },
    commit() {
      isOpen = false;
      if (held.length === 0) return;
      const lines = held;
      held = [];
      const write = (out ??= bytesTo(stream));
      // Encoded a write's worth at a time. A whole turn's lines in one string (30 alerts of 25 KB:
      // 750 KB) is a large object, allocated in the old generation: 25 KB alerts ran a full
      // collection every 80 ms. Pieces are still cut at line ends to the byte limit.
      let batch: Array<readonly LinePart[]> = [];
      let chars = 0;
      const flush = () => {
        if (batch.length === 0) return;
        // Escaped before the cut, which keeps whole lines within the byte limit as escaped.
        for (const piece of cutAtLines(logSafeBytes(encodeLines(batch)), maxWriteBytes)) write(piece);
        batch = [];
        chars = 0;
      };
      for (const line of lines) {
        const length = charsOf(line);
        // A line over the limit is no whole write anyway (a pipe interleaves what is over
        // PIPE_BUF): it is escaped and written in pieces, whatever its escapes make of it.
        if (length > maxWriteBytes) {
          flush();
          (writeInPieces ??= createLinePieces(write))(line);
          continue;
        }
        if (chars > 0 && chars + length > maxWriteBytes) flush();
        batch.push(line);
        chars += length;
      }
      flush();
    },
  };
}

// A piece's length: characters of text, bytes of bytes (either way about its size in the write).
function charsOf(parts: readonly LinePart[]): number {
  let chars = 0;
  for (const part of parts) chars += part.length;
  return chars;
}

/** The lines' UTF-8 bytes in one buffer, each piece encoded (or, given as bytes, copied) in place. */
function encodeLines(lines: ReadonlyArray<readonly LinePart[]>): Buffer {
  let size = 0;
  for (const line of lines) for (const part of line) size += Buffer.byteLength(part);
  const bytes = Buffer.allocUnsafe(size);
  let at = 0;
  for (const line of lines) {
    for (const part of line) at += typeof part === 'string' ? bytes.write(part, at) : part.copy(bytes, at);
  }
  return bytes;
}
