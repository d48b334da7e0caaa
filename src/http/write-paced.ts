import type { ServerResponse } from 'node:http';
import { startOf } from '../alerts/cut-text.js';
import { startTurnClock } from '../alerts/turn-clock.js';

// Texts are gathered into writes of about this many characters: a chunk per write, not per alert.
const PIECE_CHARS = 64 * 1024;

/** Resolves once the socket takes more, or the client is gone. */
export function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * Writes `body` and ends `res`, in views of PIECE_CHARS bytes (no copies), each once the one before
 * is taken: a reader's progress is seen between writes only (read-budget.ts), and one write of a
 * large answer (a /metrics render, a trigger run list) read steadily over a slow link, slower than
 * its size per stall timeout, was cut off as stalled (found by review).
 */
export async function writeInPieces(res: ServerResponse, body: Buffer): Promise<void> {
  res.setHeader('Content-Length', body.length);
  for (let at = 0; at < body.length; at += PIECE_CHARS) {
    if (!res.write(body.subarray(at, at + PIECE_CHARS))) await drained(res);
    if (res.destroyed) return;
  }
  res.end();
}

/**
 * Writes the texts `texts` makes, as it makes them: gathered into pieces of about 64 KiB (a longer
 * text, an alert of megabytes, cut into them), waiting while the client does not read, and handing
 * the event loop back each time a turn has used its budget. The work of making a text (formatting
 * an alert) is paced with the writing, so a large answer neither holds the loop nor is ever built
 * whole. False once the client is gone (then no more texts are made); the caller ends the response.
 */
export async function writePaced(res: ServerResponse, texts: Iterable<string>): Promise<boolean> {
  const turn = startTurnClock();
  let piece = '';
  for (const text of texts) {
    piece += text;
    if (piece.length < PIECE_CHARS && !turn.spent()) continue;
    // Written whole, a text of 1.8 MB was one buffer of its size for each answer.
    do {
      // Never parting a surrogate pair: each half would be written as U+FFFD.
      const first = startOf(piece, PIECE_CHARS);
      const flowing = res.write(first);
      piece = piece.slice(first.length);
      if (!flowing) {
        await drained(res);
        turn.restart();
      } else if (turn.spent()) await turn.next();
      if (res.destroyed) return false;
    } while (piece.length >= PIECE_CHARS);
  }
  if (piece.length > 0) res.write(piece);
  return !res.destroyed;
}
