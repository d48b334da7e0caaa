import type { Request, Response } from 'express';
import { cutText } from '../../alerts/cut-text.js';
import type { Metrics } from '../../metrics/metrics.js';
import { buildProblem, sendProblem, type Problem } from '../problem.js';
import { ingestLog, refuse } from './ingest-refusal.js';

/** The most bytes of a refused path an answer or a log line shows (a URL may be 16 KiB). */
export const SHOWN_PATH_BYTES = 200;

/**
 * A POST to a path that is not an ingest path, where ingest is served: most likely Falco with a
 * wrong `http_output.url`, whose every alert would otherwise be lost unseen (Falco ignores the
 * answer). Counted and logged like any refused alert, with the path as a value, cut, and without
 * any of `pathSecrets` (INGEST_PATH_SECRET's), which a wrong URL such as `//alerts/<secret>` still holds.
 * Answered 404, or with `problem` (the 405 of a path that serves other methods, e.g. `/alerts/{id}`).
 */
export function refuseUnknownPath(
  req: Request,
  res: Response,
  metrics: Metrics,
  options: { pathSecrets?: readonly string[]; problem?: Problem } = {},
): void {
  const secrets = options.pathSecrets ?? [];
  const shown = secrets.reduce((path, secret) => path.replaceAll(secret, '[redacted]'), req.path);
  const path = cutText(shown, SHOWN_PATH_BYTES);
  // With a path secret, /alerts and / answer 401.
  const ingestPathHint = secrets.length === 0 ? '/alerts (or /)' : '/alerts/<INGEST_PATH_SECRET>';
  const problem =
    options.problem ??
    buildProblem('not-found', {
      detail: `No route for POST ${cutText(req.path, SHOWN_PATH_BYTES)}. Falco's http_output.url must end in ${ingestPathHint}.`,
    });
  sendProblem(res, refuse(ingestLog(req).child({ path }), metrics, 'unknown_path', problem));
}
