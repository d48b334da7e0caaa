import type { Request, Response } from 'express';
import { buildProblem, PROBLEM_TYPES, sendProblem } from '../http/problem.js';
import { sendRuns } from './send-runs.js';
import { answerStoreFailure, UNREAD_RUN } from './store-failure-answers.js';
import { audit } from './trigger-audit.js';
import type { TriggerService } from './trigger-service.js';

// Why a run could not be cancelled, as the answer says it, when the shared store did not fail.
const CANCEL_REFUSALS = {
  'not-found': { type: 'not-found', detail: 'No such trigger run' },
  finished: { type: 'conflict', detail: 'The run has already ended' },
} as const;

/**
 * POST /triggers/:id/cancel: 202 with the run, or the refusal that says why not; audited. A run
 * the shared store could not read is answered as GET /triggers/{id} answers it: before, the answer
 * said the replica running the run could not be asked, and the audit line `unavailable`, for an
 * outage and a refusal alike, though no replica had been found to ask.
 */
export function createCancelRunRoute(service: TriggerService) {
  return async (req: Request, res: Response): Promise<void> => {
    const cancelled = await service.cancel(String(req.params.id));
    if (cancelled.ok) {
      const runId = cancelled.run.id;
      audit(req, { trigger: 'cancel', outcome: 'accepted', status: 202, runId });
      res.status(202).location(`/triggers/${runId}`);
      return sendRuns(req, res, cancelled.run, [cancelled.run]);
    }
    if (cancelled.reason === 'unread')
      return answerStoreFailure(req, res, cancelled.failure, UNREAD_RUN, { trigger: 'cancel' });
    if (cancelled.reason === 'unasked') {
      const consequence = 'the replica running the run could not be asked to cancel it';
      const runId = cancelled.run.id;
      return answerStoreFailure(req, res, cancelled.failure, consequence, { trigger: 'cancel', runId });
    }
    const { type, detail } = CANCEL_REFUSALS[cancelled.reason];
    const runId = cancelled.reason === 'finished' ? cancelled.run.id : undefined;
    audit(req, { trigger: 'cancel', outcome: cancelled.reason, status: PROBLEM_TYPES[type].status, runId });
    const ended = cancelled.reason === 'finished' ? ` (${cancelled.run.status})` : '';
    sendProblem(res, buildProblem(type, { detail: `${detail}${ended}.` }));
  };
}
