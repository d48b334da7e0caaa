import type { NextFunction, Request, Response } from 'express';
import getRawBody from 'raw-body';
import { closeAfterAnswer } from '../server/close-after-answer.js';
import { isIdentityCoding } from './routes/ingest-media-type.js';

/**
 * Reads the request body into `req.body` (a Buffer), failing with raw-body's typed errors.
 * Unlike `express.raw`, which drains the whole rest of an oversized body before answering, this
 * stops reading at the cap: the 413 goes out at once and the connection is closed (refuseRest),
 * so a client cannot keep a socket busy streaming junk. `limit` is in bytes, or as raw-body reads it ('16kb').
 */
export function readCappedBody(limit: number | string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!isIdentityCoding(req.headers['content-encoding'])) {
      next(
        Object.assign(new Error('content encoding unsupported'), {
          status: 415,
          type: 'encoding.unsupported',
        }),
      );
      return;
    }
    getRawBody(req, { limit, length: req.headers['content-length'] }).then(
      (body) => {
        req.body = body;
        next();
      },
      (error: unknown) => {
        if ((error as { type?: unknown } | null)?.type === 'entity.too.large') refuseRest(req, res);
        next(error);
      },
    );
  };
}

/**
 * The rest of a body past the cap is never read. While it is still arriving the connection closes
 * after the 413, and no request behind it is routed (closeAfterAnswer). A body node:http has
 * received whole is dropped and the connection kept: nothing of it is left to come, and the
 * requests parsed behind it in the same read may have been routed already (a route reached after
 * Express's hundredth layer runs a loop turn later). Closed, a trigger run or an alert behind the
 * 413 was started or stored and its answer never written.
 */
function refuseRest(req: Request, res: Response): void {
  if (req.complete) req.resume();
  else closeAfterAnswer(res);
}
