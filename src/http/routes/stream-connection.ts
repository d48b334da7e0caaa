import type { Request, Response } from 'express';
import { closeOnReverify } from '../../server/client-reverify.js';
import { resetConnection } from '../../server/reset-connection.js';
import type { StreamClients } from './stream-clients.js';
import type { StreamDrop, StreamLimits, StreamSlots } from './stream-slots.js';

// A client with less than this waiting keeps up; only a lagging one makes the sum over all worth taking.
const LAGGING_BYTES = 64 * 1024;

export interface ConnectionOptions {
  limits: Pick<StreamLimits, 'maxClientBufferedBytes'> & { heartbeatMs: number };
  /** The client's address, whose slot is released when the stream stops. */
  address: string;
  slots: StreamSlots;
  clients: StreamClients;
}

/** One client's open stream: its writes within the buffer bounds, its heartbeat and its session's end. */
export interface StreamConnection {
  /** Writes `text`; false when the stream has ended or the client was cut off instead. */
  send(text: string): boolean;
  stop(): void;
  /** Stops the stream and ends the response. */
  end(): void;
  drop(reason: StreamDrop): void;
  /** True once the stream has stopped. */
  stopped(): boolean;
  /** Sets what stops feeding the client (its feed subscription), run when the stream stops. */
  setUnsubscribe(unsubscribe: () => void): void;
}

/** Opens the stream of a client whose response headers are written, and adds it to `clients`. */
export function openStreamConnection(
  req: Request,
  res: Response,
  options: ConnectionOptions,
): StreamConnection {
  const { limits, address, slots, clients } = options;
  let unsubscribe = () => {};
  // Runs only after this function returns, when send is defined.
  const heartbeat = setInterval(() => send(': ping\n\n'), limits.heartbeatMs);
  heartbeat.unref();
  // Cut off, the stream ends with its connection, not its answer alone: node:http (Node 24) leaves
  // an answer destroyed while it waits behind another on its connection in the queue, unended, so
  // once the answer ahead was written its buffered bytes went out and every request pipelined
  // behind it waited for an end that never came (the server's request, header and keep-alive
  // timeouts do not end it). The client reconnects either way.
  const cutOff = () => {
    stop();
    req.socket.destroy();
  };
  // A stream opened with a dashboard session ends when the session does (SESSION_TTL_SECONDS):
  // the browser reconnects, and the read guard asks again.
  const expiresAt = req.access?.session?.expiresAt;
  const sessionEnd =
    expiresAt === undefined ? undefined : setTimeout(cutOff, Math.max(0, expiresAt - Date.now()));
  sessionEnd?.unref();
  // One held on a TLS connection whose client was verified under a client CA taken out since ends
  // too, and its connection with it: the client reconnects and is verified against the new CA. A
  // stream never ends by itself, so the Connection: close of that connection's next answer never
  // came, and such a client went on receiving every alert.
  const closeStream = () => {
    stop();
    res.end();
    req.socket.destroySoon();
  };
  const stopReverify = closeOnReverify(req.socket, closeStream);
  // One let in with a token taken out since (or a session that token opened) ends at the change:
  // the browser reconnects and the read guard refuses it.
  const stopRevoked =
    req.closeWhenRevoked?.(() => {
      stop();
      res.end();
    }) ?? (() => undefined);
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearInterval(heartbeat);
    clearTimeout(sessionEnd);
    stopReverify();
    stopRevoked();
    unsubscribe();
    clients.delete(res);
    slots.release(address);
  };
  // A client that does not read is cut off once its bytes (or everyone's) pass a bound: buffering
  // for it would grow without bound, and a write after end would be an unhandled error. Reset, so
  // the kernel lets go of what it still held for it (reset-connection.ts).
  const drop = (reason: StreamDrop) => {
    slots.dropped(reason);
    req.log.warn({ event: 'stream_client_dropped', reason }, 'stream client too slow, closing');
    stop();
    resetConnection(req.socket);
  };
  const send = (text: string): boolean => {
    // Stopped: its answer may not be destroyed yet (its connection's close comes a turn later).
    if (stopped || res.writableEnded || res.destroyed) return false;
    const waiting = res.writableLength + text.length;
    if (waiting > limits.maxClientBufferedBytes) {
      drop('client_buffer');
      return false;
    }
    if (waiting > LAGGING_BYTES && clients.makeRoomFor(res, text.length)) return false;
    res.write(text);
    return true;
  };
  res.on('error', stop);
  res.on('close', stop);
  clients.add(res, { stop, drop });
  return {
    send,
    stop,
    end() {
      stop();
      res.end();
    },
    drop,
    stopped: () => stopped,
    setUnsubscribe(next) {
      unsubscribe = next;
    },
  };
}
