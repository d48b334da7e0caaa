import type { NextFunction, Request, Response } from 'express';
import getRawBody from 'raw-body';
import { limitBodyPieces } from './body-pieces.js';
import { refuseRest } from './refuse-rest.js';
import { isIdentityCoding } from './routes/ingest-media-type.js';

/**
 * Reads the request body into `req.body` (a Buffer), failing with raw-body's typed errors.
 * Unlike `express.raw`, which drains the whole rest of an oversized body before answering, this
 * stops reading at the cap: the 413 goes out at once and the connection is closed (refuseRest), as
 * after the 415 for a content coding, so a client cannot keep a socket busy streaming junk.
 * `limit` is in bytes, or as raw-body reads it ('16kb').
 */
export function readCappedBody(limit: number | string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!isIdentityCoding(req.headers['content-encoding'])) {
      refuseRest(req, res);
      next(
        Object.assign(new Error('content encoding unsupported'), {
          status: 415,
          type: 'encoding.unsupported',
        }),
      );
      return;
    }
    const reading = getRawBody(req, { limit, length: req.headers['content-length'] });
    // A body in tiny chunks is refused as one past the cap is: each chunk is held until the end.
    // Counted only once raw-body reads it: one it refused by its declared length is left unread,
    // where a 'data' listener would resume it and so invite it with a 100 Continue.
    const stopCounting = req.readableFlowing === true ? limitBodyPieces(req) : () => {};
    reading.then(
      (body) => {
        stopCounting();
        req.body = body;
        next();
      },
      (error: unknown) => {
        stopCounting();
        const type = (error as { type?: unknown } | null)?.type;
        if (type === 'entity.too.large' || type === 'entity.too.fragmented') refuseRest(req, res);
        next(error);
      },
    );
  };
}
