import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Response } from 'express';
import { finished } from 'node:stream';
import type { Registry } from 'prom-client';
import { createReasonCounter } from '../metrics/reason-counter.js';
import { createAddressCounts } from '../server/address-counts.js';
import { resetConnection } from '../server/reset-connection.js';
import { createPinnedBodies } from './pinned-bodies.js';
import { buildProblem, sendProblem, type Problem } from './problem.js';

/** Why an alert, alert list or export was refused or cut off: a label value of the metric. */
export type ReadRefusal = 'inflight_bytes' | 'inflight_per_address' | 'stalled' | 'pinned_renders';

export interface ReadLimits {
  /** Most bytes of alert lists and exports held for their readers at once (QUERY_MAX_INFLIGHT_BYTES). */
  maxInflightBytes: number;
  /** Most of them held for the readers at one client address (QUERY_MAX_INFLIGHT_BYTES_PER_ADDRESS). */
  maxInflightBytesPerAddress: number;
  /** A reader whose socket takes no byte for this long is cut off (QUERY_STALL_TIMEOUT_MS). */
  stallMs: number;
  /** Most bytes of shared bodies (`/metrics` renders) held for answers not yet done (METRICS_MAX_PINNED_BYTES). */
  maxPinnedBytes: number;
}

/**
 * Bounds the memory that readers of `GET /alerts` (lists and exports) and `GET /alerts/{id}` can
 * hold: each answer's alerts stay in memory until its client has read them, so five clients that
 * asked for 30 MB of alerts and never read took a 128 MB heap past its limit. Each answer reserves
 * its alerts' bytes from a shared budget, and from its client address's share of it, until its
 * response is done (past either: 503), and a client that takes no byte for `stallMs` is cut off,
 * which ends its response. The share keeps one address from holding the whole budget: four lists
 * that were never read, asked for again as each was cut off, refused every other reader. The
 * answer itself is formatted as it is written, waiting for the client (write-paced.ts): besides its
 * alerts it holds one piece.
 */
export interface ReadBudget {
  /** Reserves `bytes` for `res` until it is done, and watches it for stalls; else the 503 problem (counted). */
  admit(res: ServerResponse, bytes: number): Problem | undefined;
  /**
   * Sets what `res` holds to `bytes`, unchecked: a list is admitted at the most it is expected to
   * hold before the store is read, then settles at what it read.
   */
  settle(res: ServerResponse, bytes: number): void;
  /**
   * Reserves `bytes` for a read that is not a response of its own (a stream's replay) from the
   * client at `address`, until the function it returns is called, once; undefined (counted) when
   * there is no room.
   */
  reserve(bytes: number, address: string): (() => void) | undefined;
  /**
   * Watches `res`, the answer of `body`, a body other answers share (a `/metrics` render), reserving
   * nothing of the budget: what its reader holds is that body until it is done. Its connection is
   * cut off once it has taken no byte for `stallMs` (or the budget's own stallMs, if shorter), and
   * once the shared bodies held for answers not yet done pass maxPinnedBytes with `body` the oldest
   * of them (pinned-bodies.ts).
   */
  watch(res: ServerResponse, body: Buffer, stallMs: number): void;
  /** Bytes reserved now. */
  inflight(): number;
}

// Bytes held for one reader until it is done (released once); `resize` makes them `to`.
interface Reservation {
  release(): void;
  resize(to: number): void;
}

/** Seconds a refused reader is told to wait before it retries. */
export const READ_RETRY_AFTER_SECONDS = 1;

/**
 * Admits `res` holding `bytes` (true), or answers it the budget's 503 with `Retry-After` (false):
 * what an alert list and a trigger run list do before they write.
 */
export function admitOrRefuse(budget: ReadBudget, res: Response, bytes: number): boolean {
  // Its client is gone (a connection closed with requests pipelined on it, which Express still
  // hands over a loop turn later past its hundredth layer): nothing to read or write. Admitted
  // with nothing held, each read the store outside the budget: connections pipelining
  // `GET /alerts?limit=1000` closed one after another had 60 lists of 1,000 alerts read at once,
  // and the 128 MiB heap ran out (found probing).
  if (res.destroyed) return false;
  const refused = budget.admit(res, bytes);
  if (!refused) return true;
  res.setHeader('Retry-After', String(READ_RETRY_AFTER_SECONDS));
  sendProblem(res, refused);
  return false;
}

const DETAIL: Record<Exclude<ReadRefusal, 'stalled' | 'pinned_renders'>, string> = {
  inflight_bytes:
    'Too many alerts, alert lists, trigger run lists or counts are being read at once (QUERY_MAX_INFLIGHT_BYTES); retry shortly.',
  inflight_per_address:
    'Too many alerts, alert lists, trigger run lists or counts are being read from your address at once (QUERY_MAX_INFLIGHT_BYTES_PER_ADDRESS); retry shortly.',
};

// An answer this small (the dashboard's counts, at most about 64 KB) may pass its address's share
// by one such answer, as may any answer that comes after it (what the address holds past its share
// stays within this): the page asks for the counts beside its alert list, whose reservation is the
// address's whole share (QUERY_MAX_BYTES) until the store is read, and they were refused (review).
const SMALL_ANSWER_BYTES = 96 * 1024;

// How often a reader's progress is looked at, as a part of the stall timeout.
const CHECKS_PER_STALL = 4;

/**
 * Bytes the kernel has taken from the connection of `res`: written, less what still waits in Node.
 * The connection's, not the answer's: an answer pipelined behind another has no socket until the
 * one ahead is written, and takes its turn as long as the client reads.
 */
function bytesTaken(socket: Socket): number {
  return socket.bytesWritten - socket.writableLength;
}

export function createReadBudget(limits: ReadLimits, registry: Registry): ReadBudget {
  let reserved = 0;
  const byAddress = createAddressCounts();
  const refused = createReasonCounter<ReadRefusal>(
    registry,
    'falco_alert_reads_refused_total',
    'Alerts, alert lists and exports, trigger run lists and dashboard counts refused (503), and live-stream replays put off (the stream ends; its client reconnects), and the read-back of a trigger run taken over put off (to a later sweep), because readers held QUERY_MAX_INFLIGHT_BYTES, or those at one address QUERY_MAX_INFLIGHT_BYTES_PER_ADDRESS; or their readers (and those of /metrics, after at most 10 s) cut off after QUERY_STALL_TIMEOUT_MS without reading (stalled); or readers of /metrics cut off because scrapes not yet read to their end held METRICS_MAX_PINNED_BYTES of renders, theirs the oldest (pinned_renders).',
    ['inflight_bytes', 'inflight_per_address', 'stalled', 'pinned_renders'],
  );
  // The whole connection: node:http (Node 24) leaves an answer destroyed while it waits behind
  // another in the connection's queue, unended, and the connection hung behind it. Counted once.
  // Reset: its client does not read, and a FIN left what the kernel held for it in the kernel.
  const cutOff = (socket: Socket, reason: 'stalled' | 'pinned_renders'): void => {
    if (socket.destroyed) return;
    refused.inc(reason);
    resetConnection(socket);
  };
  const pin = createPinnedBodies(limits.maxPinnedBytes, (res) => cutOff(res.req.socket, 'pinned_renders'));
  const refuse = (reason: keyof typeof DETAIL): Problem => {
    refused.inc(reason);
    return buildProblem('service-unavailable', { detail: DETAIL[reason] });
  };
  // One answer always fits on its own (QUERY_MAX_BYTES is the most one holds), and an address's
  // first one in its share, which a small answer may pass by one more. Past both, the budget as a
  // whole is named.
  const take = (bytes: number, address: string): Reservation | { refused: Problem } => {
    const atAddress = byAddress.get(address);
    if (reserved > 0 && reserved + bytes > limits.maxInflightBytes)
      return { refused: refuse('inflight_bytes') };
    // Either way round: the page asks for its counts first, and with a memory store they are
    // admitted before the list's request comes (review of 788bf4e).
    const slack = bytes <= SMALL_ANSWER_BYTES || atAddress <= SMALL_ANSWER_BYTES ? SMALL_ANSWER_BYTES : 0;
    if (atAddress > 0 && atAddress + bytes > limits.maxInflightBytesPerAddress + slack)
      return { refused: refuse('inflight_per_address') };
    let held = bytes;
    reserved += held;
    byAddress.add(address, held);
    let released = false;
    return {
      release: () => {
        released = true;
        reserved -= held;
        byAddress.remove(address, held);
      },
      resize: (to) => {
        if (released) return;
        reserved += to - held;
        if (to > held) byAddress.add(address, to - held);
        else byAddress.remove(address, held - to);
        held = to;
      },
    };
  };
  const admitted = new WeakMap<ServerResponse, Reservation>();
  // Cuts off the connection of `res` once it has taken no byte for `stallMs`, until `res` is done.
  const watchStall = (res: ServerResponse, stallMs: number): void => {
    const socket = res.req.socket;
    let taken = bytesTaken(socket);
    // On the monotonic clock: a step forward of the wall clock cut off every reader paused then.
    let progressAt = performance.now();
    const watch = setInterval(
      () => {
        const now = bytesTaken(socket);
        if (now !== taken) {
          taken = now;
          progressAt = performance.now();
        } else if (performance.now() - progressAt >= stallMs) {
          cutOff(socket, 'stalled');
        }
      },
      Math.max(1, Math.floor(stallMs / CHECKS_PER_STALL)),
    );
    watch.unref();
    // Done: all handed to the kernel ('finish'), or the socket gone ('close', also if it already
    // was). finished() calls back once.
    finished(res, () => clearInterval(watch));
  };
  return {
    admit(res, bytes) {
      // The client left while the store answered: nothing will be held for it.
      if (res.destroyed) return undefined;
      const reservation = take(bytes, res.req.socket.remoteAddress ?? '');
      if ('refused' in reservation) return reservation.refused;
      admitted.set(res, reservation);
      watchStall(res, limits.stallMs);
      finished(res, () => reservation.release());
      return undefined;
    },
    watch(res, body, stallMs) {
      if (res.destroyed) return;
      watchStall(res, Math.min(stallMs, limits.stallMs));
      pin(res, body);
    },
    settle: (res, bytes) => admitted.get(res)?.resize(bytes),
    reserve(bytes, address) {
      const reservation = take(bytes, address);
      return 'refused' in reservation ? undefined : reservation.release;
    },
    inflight: () => reserved,
  };
}
