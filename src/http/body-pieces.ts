import type { IncomingMessage } from 'node:http';

// Pieces a body may come in before their average size counts: a body's head sent on its own, or a
// client on a link of small segments (536 bytes at the least), is never refused.
const FREE_PIECES = 64;
/** Least average size of the pieces (chunks, or reads) a body comes in, past FREE_PIECES of them. */
export const MIN_PIECE_BYTES = 256;

/** What a body sent in pieces too small is refused with: 413, read no further. */
export const FRAGMENTED_DETAIL = `The body came in more than ${FREE_PIECES} pieces (chunks, or reads of the socket) averaging under ${MIN_PIECE_BYTES} bytes; send it in larger ones.`;

/** The error a body read fails with then, in raw-body's form (a status and a type). */
export const fragmentedBody = (): Error =>
  Object.assign(new Error(FRAGMENTED_DETAIL), { status: 413, type: 'entity.too.fragmented' as const });

/** Whether a body of `pieces` pieces (chunks, or reads) holding `bytes` in all came in pieces too small. */
export const tooFragmented = (pieces: number, bytes: number): boolean =>
  pieces > FREE_PIECES && pieces * MIN_PIECE_BYTES > bytes;

/**
 * Fails the read of `req`'s body, with an 'error' on it that raw-body stops reading on (as at its
 * cap), once it has come in more than FREE_PIECES pieces averaging under MIN_PIECE_BYTES. node:http
 * hands each chunk of a chunked body over as a Buffer of its own, kept until the body's end: a 1 MB
 * alert sent as 1-byte chunks (6 MB on the wire, under BODY_LIMIT_BYTES) made a million of them,
 * 3.4 s of CPU, and ran the image's 128 MiB heap out. So a body holds at most about its limit over
 * 256 pieces. Call it before the reader takes the body, and what it returns once the read is over:
 * a body refused at its cap and resumed to be dropped (linger-close.ts) went on being counted, and
 * an 'error' with no reader listening would have killed the process.
 */
export function limitBodyPieces(req: IncomingMessage): () => void {
  let pieces = 0;
  let bytes = 0;
  const count = (chunk: Buffer) => {
    pieces += 1;
    bytes += chunk.length;
    if (!tooFragmented(pieces, bytes)) return;
    req.off('data', count);
    req.emit('error', fragmentedBody());
  };
  req.on('data', count);
  return () => req.off('data', count);
}
