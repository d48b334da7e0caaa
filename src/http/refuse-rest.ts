import type { Request, Response } from 'express';
import { closeAfterAnswer } from '../server/close-after-answer.js';

/**
 * For a body refused unread, or read no further (past the cap, or 415 for its media type, charset
 * or coding). While it is still arriving the connection closes after the answer, and no request
 * behind it is routed (closeAfterAnswer): drained, an endless body was read until
 * SERVER_REQUEST_TIMEOUT_MS and its client then got a 408 too. A body node:http has received whole
 * is dropped and the connection kept: nothing of it is left to come, and the requests parsed
 * behind it in the same read may have been routed already (a route reached after Express's
 * hundredth layer runs a loop turn later). Closed, a trigger run or an alert behind the refusal was
 * started or stored and its answer never written.
 */
export function refuseRest(req: Request, res: Response): void {
  if (req.complete) req.resume();
  else closeAfterAnswer(res);
}
