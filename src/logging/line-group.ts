import type { DestinationStream } from 'pino';

/**
 * Group commit for log lines: while a group is open, lines are held and then written together by
 * `commit()`, a few writes per event-loop turn instead of one system call per alert. Outside a
 * group a line is written at once, so a caller that never opens one sees no difference.
 */
export interface LineGroup {
  /** Writes `line` (ending in a newline) now, or at the next commit while a group is open. */
  write(line: string): void;
  open(): void;
  /** Writes the held lines, whole lines per write, and closes the group; throws what the write throws. */
  commit(): void;
}

/**
 * A write to a pipe of at most PIPE_BUF (4096 bytes on Linux) is never interleaved with another
 * process's writes: cluster workers sharing the primary's stdout pass this as `maxWriteBytes`.
 */
export const PIPE_ATOMIC_BYTES = 4096;
// sonic-boom (pino's destination) splits anything longer into writes of this size anyway.
const DEFAULT_MAX_WRITE_BYTES = 16 * 1024;

export function createLineGroup(
  stream: DestinationStream,
  maxWriteBytes: number = DEFAULT_MAX_WRITE_BYTES,
): LineGroup {
  let held: string[] = [];
  let isOpen = false;
  return {
    write(line) {
      if (isOpen) held.push(line);
      else stream.write(line);
    },
    open() {
      isOpen = true;
    },
    commit() {
      isOpen = false;
      if (held.length === 0) return;
      const lines = held;
      held = [];
      let chunk = '';
      let bytes = 0;
      for (const line of lines) {
        const size = Buffer.byteLength(line);
        if (bytes > 0 && bytes + size > maxWriteBytes) {
          stream.write(chunk);
          chunk = '';
          bytes = 0;
        }
        chunk += line;
        bytes += size;
      }
      stream.write(chunk);
    },
  };
}
