import type { Request, Response } from 'express';
import { cutText } from '../../alerts/cut-text.js';
import { callerAddress } from '../../logging/caller-address.js';
import type { Metrics } from '../../metrics/metrics.js';
import { createRefusalLines, type RefusalLines } from '../auth/refusal-lines.js';
import { buildProblem, sendProblem, type Problem } from '../problem.js';

/** The most bytes of a refused path an answer or a log line shows (a URL may be 16 KiB). */
export const SHOWN_PATH_BYTES = 200;

/** What an `alert_rejected` line of a POST to a wrong path names: the sensor's address and the path. */
export interface UnknownPathFields {
  reason: 'unknown_path';
  status: number;
  caller: string | undefined;
  /** Cut to SHOWN_PATH_BYTES, the path secrets redacted. */
  path: string;
}

/**
 * The `alert_rejected` lines of POSTs to wrong paths, counted per kind (caller, path, status;
 * refusal-lines.ts): a line per request let anyone reaching the port (past INGEST_PATH_SECRET's
 * ingest_unauthorized lines, counted so) choose how many lines were written. Such a line names the
 * sensor and its wrong URL, never the alert, so the first of each at once and the `count` keep all
 * it told; falco_alerts_rejected_total{reason="unknown_path"} counts each request.
 */
export const createUnknownPathLines = (): RefusalLines<UnknownPathFields> =>
  createRefusalLines({ event: 'alert_rejected', level: 'warn', message: 'alert rejected' });

/**
 * A POST to a path that is not an ingest path, where ingest is served: most likely Falco with a
 * wrong `http_output.url`, whose every alert would otherwise be lost unseen (Falco ignores the
 * answer). Counted and logged like any refused alert (its line counted per kind), with the path as
 * a value, cut, and without any of `pathSecrets` (INGEST_PATH_SECRET's), which a wrong URL such as
 * `//alerts/<secret>` still holds. Answered 404, or with `problem` (the 405 of a path that serves
 * other methods, e.g. `/alerts/{id}`).
 */
export function refuseUnknownPath(
  req: Request,
  res: Response,
  metrics: Metrics,
  options: { lines: RefusalLines<UnknownPathFields>; pathSecrets?: readonly string[]; problem?: Problem },
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
  metrics.recordRejected('unknown_path');
  const caller = callerAddress(req.socket.remoteAddress);
  options.lines.add(req, { reason: 'unknown_path', status: problem.status, caller, path });
  sendProblem(res, problem);
}
