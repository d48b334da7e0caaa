import type { Registry } from 'prom-client';
import { createReasonCounter } from '../../metrics/reason-counter.js';

/** Why a stream was refused or cut off: the label values of the stream metrics. */
export type StreamRefusal = 'max_clients' | 'max_per_address';
export type StreamDrop = 'client_buffer' | 'total_buffer';

export interface StreamLimits {
  /** Most concurrent stream clients (STREAM_MAX_CLIENTS). */
  maxClients: number;
  /** Most concurrent streams of one client address (STREAM_MAX_CLIENTS_PER_ADDRESS). */
  maxPerAddress: number;
  /** A client with this many bytes waiting in its socket is cut off. */
  maxClientBufferedBytes: number;
  /** All clients' waiting bytes together: past it, the lagging client being written is cut off. */
  maxBufferedBytes: number;
}

/** The stream's slots per address and its counters of refusals and cut-off clients. */
export interface StreamSlots {
  /** Takes a slot for `address`, or says why none is left. */
  take(address: string): StreamRefusal | undefined;
  release(address: string): void;
  refused(reason: StreamRefusal): void;
  dropped(reason: StreamDrop): void;
}

export function createStreamSlots(limits: StreamLimits, registry: Registry): StreamSlots {
  const byAddress = new Map<string, number>();
  let total = 0;
  const refusedTotal = createReasonCounter<StreamRefusal>(
    registry,
    'falco_stream_refused_total',
    'Live-stream requests refused with 429, by limit (STREAM_MAX_CLIENTS, STREAM_MAX_CLIENTS_PER_ADDRESS).',
    ['max_clients', 'max_per_address'],
  );
  const droppedTotal = createReasonCounter<StreamDrop>(
    registry,
    'falco_stream_clients_dropped_total',
    'Live-stream clients cut off for not reading, by the buffer bound they crossed.',
    ['client_buffer', 'total_buffer'],
  );
  return {
    take(address) {
      if (total >= limits.maxClients) return 'max_clients';
      const held = byAddress.get(address) ?? 0;
      if (held >= limits.maxPerAddress) return 'max_per_address';
      byAddress.set(address, held + 1);
      total += 1;
      return undefined;
    },
    release(address) {
      const held = byAddress.get(address) ?? 0;
      if (held <= 1) byAddress.delete(address);
      else byAddress.set(address, held - 1);
      total = Math.max(0, total - 1);
    },
    refused: (reason) => refusedTotal.inc(reason),
    dropped: (reason) => droppedTotal.inc(reason),
  };
}
