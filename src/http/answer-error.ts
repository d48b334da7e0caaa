import type { NextFunction, Request, Response } from 'express';
import { StoreUnavailableError } from '../store/store-unavailable-error.js';
import { buildProblem, sendProblem } from './problem.js';

/** Last resort: log the error with its stack, answer without one. */
export function answerError(error: unknown, req: Request, res: Response, _next: NextFunction): void {
  const status = (error as { status?: number } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Express's router says "Failed to decode param" for a path segment such as `%` or `%E0%A4%A`.
    const message = (error as { message?: unknown } | null)?.message;
    const why =
      typeof message === 'string' && message.startsWith('Failed to decode param')
        ? 'the path is not valid percent-encoding'
        : 'the request could not be read';
    sendProblem(
      res,
      buildProblem('invalid-request', {
        detail: `Invalid request: ${why}.`,
        errors: [{ pointer: '', detail: why }],
      }),
    );
    return;
  }
  if (error instanceof StoreUnavailableError) {
    sendProblem(res, buildProblem('service-unavailable', { detail: error.message }));
    return;
  }
  req.log.error({ err: error }, 'unhandled error');
  if (!res.headersSent) sendProblem(res, buildProblem('internal-error'));
  else res.end();
}
