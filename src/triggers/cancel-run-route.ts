import type { Request, Response } from 'express';
import { buildProblem, PROBLEM_TYPES, sendProblem } from '../http/problem.js';
import { sendRuns } from './send-runs.js';
import { audit } from './trigger-audit.js';
import type { TriggerService } from './trigger-service.js';

// Why a run could not be cancelled, as the answer says it.
const CANCEL_REFUSALS = {
  'not-found': { type: 'not-found', detail: 'No such trigger run' },
  finished: { type: 'conflict', detail: 'The run has already ended' },
  // The shared store failed to read the run (down, or refusing: logged as trigger_store_refused) or
  // to take the request.
  unavailable: {
    type: 'service-unavailable',
    detail: 'The replica running the run could not be asked to cancel it; try again',
  },
} as const;

/** POST /triggers/:id/cancel: 202 with the run, or the refusal that says why not; audited. */
export function createCancelRunRoute(service: TriggerService) {
  return async (req: Request, res: Response): Promise<void> => {
    const cancelled = await service.cancel(String(req.params.id));
    const runId = 'run' in cancelled ? cancelled.run?.id : undefined;
    const status = cancelled.ok ? 202 : PROBLEM_TYPES[CANCEL_REFUSALS[cancelled.reason].type].status;
    audit(req, { trigger: 'cancel', outcome: cancelled.ok ? 'accepted' : cancelled.reason, status, runId });
    if (cancelled.ok) {
      res.status(202).location(`/triggers/${cancelled.run.id}`);
      return sendRuns(req, res, cancelled.run, [cancelled.run]);
    }
    const { type, detail } = CANCEL_REFUSALS[cancelled.reason];
    const ended = cancelled.reason === 'finished' ? ` (${cancelled.run.status})` : '';
    sendProblem(res, buildProblem(type, { detail: `${detail}${ended}.` }));
  };
}
