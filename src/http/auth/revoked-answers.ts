import type { NextFunction, Request, Response } from 'express';

declare module 'express-serve-static-core' {
  interface Request {
    /**
     * For an answer that never ends by itself (a live stream): `close` runs once the credentials
     * that let this request in no longer would (a token taken out of its file). Returns what
     * cancels it (the answer ended). Set for every request the read guard let in.
     */
    closeWhenRevoked?: (close: () => void) => () => void;
  }
}

/** The open answers whose credentials are checked again at each token change. */
export interface RevokedAnswers {
  /** Lets the requests it passes register their open answers (mounted after the read guard). */
  middleware(req: Request, res: Response, next: NextFunction): void;
  /** Closes each open answer whose request `stillGranted` no longer lets in. */
  recheck(): void;
}

/**
 * A live stream was let in once, by the read guard, and then went on receiving every alert: a
 * token taken out of VIEWER_TOKEN_FILE (or a rotated TRIGGER_TOKEN_FILE) ended its sessions and
 * refused its next request, but a stream it opened, with the token or a session, stayed open.
 */
export function createRevokedAnswers(stillGranted: (req: Request) => boolean): RevokedAnswers {
  const open = new Map<Request, () => void>();
  return {
    middleware(req, _res, next) {
      if (req.access !== undefined)
        req.closeWhenRevoked = (close) => {
          open.set(req, close);
          return () => {
            if (open.get(req) === close) open.delete(req);
          };
        };
      next();
    },
    recheck() {
      for (const [req, close] of open) {
        if (stillGranted(req)) continue;
        open.delete(req);
        close();
      }
    },
  };
}
