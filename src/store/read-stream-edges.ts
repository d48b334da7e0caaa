import { StoreUnavailableError } from './store-unavailable-error.js';
import { STREAM_EDGES_SCRIPT, streamEdges } from './stream-read-gap.js';

/** A stream's edges as STREAM_EDGES_SCRIPT answered them (stream-read-gap.ts). */
export type StreamEdges = ReturnType<typeof streamEdges>;

/**
 * The edges of `stream` that tell what was removed from it (no lineage asked). Refused the script
 * (an ACL without XINFO, which the live reader takes too): its oldest entry alone, as before
 * Redis 7. Rejects when that is refused as well, and with StoreUnavailableError when Redis is down,
 * hung or busy.
 */
export function readStreamEdges(
  send: (args: string[]) => Promise<unknown>,
  stream: string,
): Promise<StreamEdges> {
  return send(['EVAL', STREAM_EDGES_SCRIPT, '1', stream]).then(streamEdges, (error: unknown) => {
    if (error instanceof StoreUnavailableError) throw error;
    return send(['XRANGE', stream, '-', '+', 'COUNT', '1']).then((reply) => ({
      first: (reply as Array<[string, unknown]>)[0]?.[0],
    }));
  });
}
