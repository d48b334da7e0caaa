import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createReasonCounter } from '../metrics/reason-counter.js';
import { createAddressCounts } from '../server/address-counts.js';
import { buildProblem, type Problem } from './problem.js';
import { callerLines, type CallerLines } from '../logging/counted-lines.js';

/**
 * Why an ingest request was shed: a label value of the metric. Before its body was read, by an
 * in-flight bound; or, read, because a shared store's write queue is full while Redis answers
 * (`store_pending_full`: it would drop a queued alert whose answer waits, AlertStore.admits).
 */
export type ShedReason =
  'inflight_bytes' | 'inflight_bytes_per_address' | 'inflight_per_address' | 'store_pending_full';

export interface InflightLimits {
  /** Most body bytes being received (declared, or the body cap for chunked ones), all clients together. */
  maxBytes: number;
  /** Most of them from one client address (its first request always fits). */
  maxBytesPerAddress: number;
  /** Most ingest requests in flight from one client address. */
  maxPerAddress: number;
}

/**
 * Bounds the memory of ingest bodies still arriving: 400 sockets declaring 1 MiB and holding back
 * the last byte took RSS from 167 to 491 MiB. Each request reserves its declared length (a chunked
 * one the body cap) from a shared budget before a byte is read, and returns it when its response
 * closes; past the budget, the address's share of it, or the per-address count, it is shed with a
 * 503. The share keeps one client from holding the whole budget: 37 requests declaring 1.75 MB and
 * sending nothing, from two addresses, held all 64 MiB for the 30 s request timeout, and 188 of
 * 198 alerts from another sensor were shed meanwhile.
 */
export interface InflightBodies {
  /** Reserves room for `req`'s body until `res` closes, or returns the 503 problem to answer with. */
  admit(req: IncomingMessage, res: ServerResponse, bodyLimitBytes: number): Problem | undefined;
  /** `admit` without the close listener: the caller calls `release` once when the response closes. */
  reserve(req: IncomingMessage, bodyLimitBytes: number): Problem | undefined;
  /** Returns what `reserve` took for `req` (same arguments). */
  release(req: IncomingMessage, bodyLimitBytes: number): void;
  /** Sheds a request whose body was read (`store_pending_full`), counted and logged as the others. */
  shed(reason: ShedReason, address: string): Problem;
}

/**
 * After the first `ingest_shed` line of a reason, at most one line per this many milliseconds, with
 * the sheds since: a shed alert is lost (Falco does not retry a 503), so it is said in the log too,
 * but a flood of them must not flood it.
 */
export const SHED_LOG_INTERVAL_MS = 10_000;

const SHED_REASONS: readonly ShedReason[] = [
  'inflight_bytes',
  'inflight_bytes_per_address',
  'inflight_per_address',
  'store_pending_full',
];

/**
 * The `ingest_shed` lines, counted per reason (countedLines) with the newest caller: the first at
 * once, then one a period with the sheds since, and the rest at `flush` (the receiver's flushLines, at
 * a listener's close). Before, a line came only with a shed a period after the last line, so the
 * sheds after the last line were never written.
 */
export function shedLines(logger: Logger): CallerLines<ShedReason> {
  return callerLines(SHED_REASONS, SHED_LOG_INTERVAL_MS, (reason, shed, caller) =>
    logger.warn(
      { event: 'ingest_shed', reason, shed, caller },
      'ingest requests answered 503, not accepted (Falco does not retry them: those alerts are lost)',
    ),
  );
}

/** Seconds a shed client is told to wait before it retries. */
export const SHED_RETRY_AFTER_SECONDS = 1;

const DETAIL: Record<ShedReason, string> = {
  inflight_bytes: 'Too many request bodies are arriving at once (INGEST_MAX_INFLIGHT_BYTES); retry shortly.',
  inflight_bytes_per_address:
    'Too many request body bytes from your address are arriving at once (INGEST_MAX_INFLIGHT_BYTES_PER_ADDRESS); retry shortly.',
  inflight_per_address:
    'Too many requests from your address are in flight (INGEST_MAX_INFLIGHT_PER_ADDRESS); retry shortly.',
  store_pending_full:
    'The shared store is writing slower than alerts arrive and its queue is full (STORE_PENDING_MAX, STORE_MAX_BYTES); retry shortly.',
};

/** `onShed` logs a shed (shedLines' add). */
export function createInflightBodies(
  limits: InflightLimits,
  registry: Registry,
  onShed: (reason: ShedReason, address: string) => void = () => {},
): InflightBodies {
  let bytes = 0;
  const byAddress = createAddressCounts();
  const bytesByAddress = createAddressCounts();
  const shed = createReasonCounter<ShedReason>(
    registry,
    'falco_ingest_shed_total',
    'Ingest requests answered 503 and not accepted: before their body was read, by the in-flight limit they hit, or with a shared store whose write queue is full.',
    SHED_REASONS,
  );

  const refuse = (reason: ShedReason, address: string): Problem => {
    shed.inc(reason);
    onShed(reason, address);
    return buildProblem('service-unavailable', { detail: DETAIL[reason] });
  };
  // What a request reserves: its declared length (the fast path and Express's 413 check it against
  // the cap later), or the cap for a chunked body. The same request always gives the same size.
  const sizeOf = (req: IncomingMessage, bodyLimitBytes: number) => {
    const declared = Number(req.headers['content-length']);
    return Number.isFinite(declared) && declared >= 0 ? Math.min(declared, bodyLimitBytes) : bodyLimitBytes;
  };
  const reserve = (req: IncomingMessage, bodyLimitBytes: number): Problem | undefined => {
    const address = req.socket.remoteAddress ?? '';
    const size = sizeOf(req, bodyLimitBytes);
    if (byAddress.get(address) >= limits.maxPerAddress) return refuse('inflight_per_address', address);
    const held = bytesByAddress.get(address);
    if (held > 0 && held + size > limits.maxBytesPerAddress)
      return refuse('inflight_bytes_per_address', address);
    if (bytes + size > limits.maxBytes) return refuse('inflight_bytes', address);
    bytes += size;
    byAddress.add(address);
    bytesByAddress.add(address, size);
    return undefined;
  };
  const release = (req: IncomingMessage, bodyLimitBytes: number): void => {
    const address = req.socket?.remoteAddress ?? '';
    const size = sizeOf(req, bodyLimitBytes);
    bytes -= size;
    byAddress.remove(address);
    bytesByAddress.remove(address, size);
  };
  return {
    admit(req, res, bodyLimitBytes) {
      const problem = reserve(req, bodyLimitBytes);
      if (problem === undefined) res.once('close', () => release(req, bodyLimitBytes));
      return problem;
    },
    reserve,
    release,
    shed: refuse,
  };
}
