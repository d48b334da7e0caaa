import type { Request, Response } from 'express';
import { admitOrRefuse, type ReadBudget } from '../http/read-budget.js';
import { writeInPieces } from '../http/write-paced.js';
import type { TriggerRun } from './trigger-run.js';

/** What a viewer reads in place of a run's nonce. */
export const HIDDEN_NONCE = '[nonce hidden]';

/**
 * Sends `body` (holding `runs`) as JSON. A reader without the trigger role (VIEWER_TOKEN, the
 * trusted proxy's users) never sees a run's nonce (its field, its command line, its output): with
 * it anyone who can post alerts could fake the alert that verifies the run, the negative control
 * included.
 */
export function sendRuns(
  req: Request,
  res: Response,
  body: unknown,
  runs: readonly TriggerRun[],
  budget?: ReadBudget,
): void {
  let json = JSON.stringify(body);
  if (req.access !== undefined && req.access.role !== 'trigger') {
    for (const { nonce } of runs) if (nonce) json = json.replaceAll(nonce, HIDDEN_NONCE);
  }
  // Held until its client has read it, as an alert list is: a run keeps up to
  // TRIGGER_OUTPUT_MAX_CHARS of output per step, and a list is TRIGGER_MAX_RUNS runs (megabytes),
  // so lists pipelined and never read would otherwise pile up in memory.
  const bytes = Buffer.from(json);
  if (budget && !admitOrRefuse(budget, res, bytes.length)) return;
  res.type('application/json').set('Cache-Control', 'no-store');
  void writeInPieces(res, bytes);
}
