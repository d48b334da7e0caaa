import type { Request, Response } from 'express';
import { buildProblem, sendProblem } from '../http/problem.js';
import type { RunList } from './run-registry.js';
import type { SharedFailure } from './shared-store-failures.js';
import { audit, type Audit } from './trigger-audit.js';

/**
 * What an answer says of a failure of the shared store (run-registry.ts): the reason of a refusal
 * is in the log line, never Redis's own text, which may quote what a caller sent.
 */
export const STORE_FAILED: Record<SharedFailure, string> = {
  unavailable: 'The shared store (Redis) is unavailable',
  refused: 'The shared store (Redis) refused the call (logged as trigger_store_refused)',
};

// An outage passes by itself, so the caller may try again; a refusal (WRONGTYPE, NOPERM, OOM) is
// given again until someone fixes Redis, and "try again" sent callers into a loop that cannot end.
const STORE_FAILED_END: Record<SharedFailure, string> = {
  unavailable: '; try again.',
  refused: '. A refusal lasts until Redis is fixed.',
};

/**
 * The 503 problem+json for a call the shared store failed, audited as `store-unavailable` or
 * `store-refused` whichever call it was; `consequence` says what could not be done. No
 * Retry-After, as GET /alerts answers an outage of the store: nobody knows when it ends.
 */
export function answerStoreFailure(
  req: Request,
  res: Response,
  failure: SharedFailure,
  consequence: string,
  fields: Pick<Audit, 'trigger' | 'target' | 'runId'>,
): void {
  audit(req, { ...fields, outcome: `store-${failure}`, status: 503 });
  const detail = `${STORE_FAILED[failure]}: ${consequence}${STORE_FAILED_END[failure]}`;
  sendProblem(res, buildProblem('service-unavailable', { detail }));
}

/** What GET /triggers/{id} and its cancel say when the run cannot be read: it may be another replica's. */
export const UNREAD_RUN = 'a run another replica started cannot be read now';

/**
 * Why GET /triggers lists fewer runs than there are (`partial`), or undefined when it lists them
 * all: the shared store failed, or holds runs this replica cannot read (another version's during a
 * rolling upgrade, or not runs), which are left out.
 */
export function partialListDetail({ partial, unreadable = 0 }: RunList): string | undefined {
  if (partial) return `${STORE_FAILED[partial]}: only this replica's own runs are listed.`;
  if (unreadable === 0) return undefined;
  const runs = unreadable === 1 ? '1 stored run' : `${unreadable} stored runs`;
  return `The shared store (Redis) holds runs this replica cannot read (another version's, or not runs; logged as trigger_store_refused): ${runs} not listed.`;
}
