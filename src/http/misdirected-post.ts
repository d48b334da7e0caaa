import type { Request, Response } from 'express';
import type { Metrics } from '../metrics/metrics.js';
import { buildProblem, type Problem } from './problem.js';
import { INGEST_PATHS } from './routes/ingest.js';
import type { RefusalLines } from './auth/refusal-lines.js';
import { refuseUnknownPath, type UnknownPathFields } from './routes/refuse-unknown-path.js';

/** Telling and refusing a POST that is most likely Falco's alert sent to a wrong URL. */
export interface MisdirectedPost {
  isMisdirected(req: Request): boolean;
  /** `problem`: the 405 of a path that serves other methods; else a 404. */
  refuse(req: Request, res: Response, problem?: Problem): void;
}

// Paths people POST to (triggers, sign-in): a miss there is not an alert sent to a wrong URL.
function isPeoplePath(path: string): boolean {
  return ['/triggers', '/ui'].some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}

/**
 * A POST that is most likely Falco's alert sent to a wrong URL, lost unseen unless counted: where
 * ingest is served (`ingests`), any path but a person's (triggers, sign-in); on ADMIN_PORT, the
 * ingest paths.
 */
export function createMisdirectedPost(
  metrics: Metrics,
  ingests: boolean,
  ingestPathSecrets: (() => readonly string[]) | undefined,
  lines: RefusalLines<UnknownPathFields>,
): MisdirectedPost {
  return {
    isMisdirected: (req) =>
      req.method === 'POST' && (ingests ? !isPeoplePath(req.path) : INGEST_PATHS.includes(req.path)),
    refuse: (req, res, problem) =>
      refuseUnknownPath(req, res, metrics, {
        lines,
        pathSecrets: ingestPathSecrets?.(),
        problem: ingests
          ? problem
          : buildProblem(problem ? 'method-not-allowed' : 'not-found', {
              detail: `POST ${req.path}: this is ADMIN_PORT, which takes no alerts; Falco's http_output.url must use PORT.`,
            }),
      }),
  };
}
