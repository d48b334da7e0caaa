import type { Request, Response } from 'express';
import type { TriggerRun } from './trigger-run.js';

/** What a viewer reads in place of a run's nonce. */
export const HIDDEN_NONCE = '[nonce hidden]';

/**
 * Sends `body` (holding `runs`) as JSON. A reader without the trigger role (VIEWER_TOKEN, the
 * trusted proxy's users) never sees a run's nonce (its field, its command line, its output): with
 * it anyone who can post alerts could fake the alert that verifies the run, the negative control
 * included.
 */
export function sendRuns(req: Request, res: Response, body: unknown, runs: readonly TriggerRun[]): void {
  let json = JSON.stringify(body);
  if (req.access !== undefined && req.access.role !== 'trigger') {
    for (const { nonce } of runs) if (nonce) json = json.replaceAll(nonce, HIDDEN_NONCE);
  }
  res.type('application/json').set('Cache-Control', 'no-store').send(json);
}
