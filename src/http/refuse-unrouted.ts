import type { Express, Request, Response } from 'express';
import { cutText } from '../alerts/cut-text.js';
import type { MisdirectedPost } from './misdirected-post.js';
import { buildProblem, sendProblem } from './problem.js';
import { SHOWN_PATH_BYTES } from './routes/refuse-unknown-path.js';
import { CORE_METHODS, type Surface } from './surface-methods.js';

/**
 * Answers what no route took: a core path with a method it does not serve (405), any other path
 * (404); a misdirected POST is refused as such, counted and logged.
 */
export function refuseUnrouted(app: Express, surface: Surface, misdirected: MisdirectedPost): void {
  // A core path with a method it does not serve: say which methods it does.
  for (const [path, allow] of CORE_METHODS[surface]) {
    app.all(path, (req: Request, res: Response) => {
      res.setHeader('Allow', allow);
      const problem = buildProblem('method-not-allowed', {
        detail: `${req.method} ${req.path}: use ${allow}`,
      });
      // A POST here is as likely an alert sent to a wrong URL (`/alerts/<a former path secret>`).
      if (misdirected.isMisdirected(req)) return misdirected.refuse(req, res, problem);
      sendProblem(res, problem);
    });
  }
  app.use((req: Request, res: Response) => {
    if (misdirected.isMisdirected(req)) return misdirected.refuse(req, res);
    const detail = `No route for ${req.method} ${cutText(req.path, SHOWN_PATH_BYTES)}`;
    sendProblem(res, buildProblem('not-found', { detail }));
  });
}
