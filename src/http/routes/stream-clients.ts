import type { Response } from 'express';
import type { StreamDrop, StreamLimits } from './stream-slots.js';

/** The functions that stop feeding an open stream and that cut it off. */
export interface OpenStream {
  stop: () => void;
  drop: (reason: StreamDrop) => void;
}

/** The open streams: the bound on all their waiting bytes together, and a way to end them all. */
export interface StreamClients {
  add(res: Response, stream: OpenStream): void;
  delete(res: Response): void;
  /** Makes room under the total bound (maxBufferedBytes) for `bytes` more to `res`. */
  makeRoomFor(res: Response, bytes: number): boolean;
  /** Ends every open stream (on shutdown). */
  closeAll(): void;
  count(): number;
}

export function createStreamClients(limits: Pick<StreamLimits, 'maxBufferedBytes'>): StreamClients {
  // Each open stream with the functions that stop feeding it and that cut it off.
  const open = new Map<Response, OpenStream>();
  return {
    add(res, stream) {
      open.set(res, stream);
    },
    delete(res) {
      open.delete(res);
    },
    // Past the total bound the clients furthest behind are cut off first, until `bytes` more fit.
    // True when `res` itself was one of them.
    makeRoomFor(res, bytes) {
      for (;;) {
        let sum = bytes;
        let furthest: Response | undefined;
        for (const each of open.keys()) {
          sum += each.writableLength;
          if (!furthest || each.writableLength > furthest.writableLength) furthest = each;
        }
        if (sum <= limits.maxBufferedBytes || !furthest) return false;
        open.get(furthest)?.drop('total_buffer');
        if (furthest === res) return true;
      }
    },
    closeAll() {
      for (const [res, { stop }] of open) {
        stop();
        res.end();
      }
    },
    count() {
      return open.size;
    },
  };
}
