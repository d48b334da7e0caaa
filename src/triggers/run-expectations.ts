import type { TriggersConfig } from '../config/triggers-env.js';
import { compileActionsPattern } from './actions-pattern.js';
import { alertCarriesNonce, runPodTie, TERMINAL_SHELL_RULE } from './alert-matchers.js';
import { selectExpectedRules } from './expected-rules.js';
import { CLOCK_SKEW_MS } from './run-watch.js';
import type { TriggerKind, TriggerRun } from './trigger-run.js';
import type { TriggerRequest } from './trigger-request.js';
import type { ExpectedDetection } from './verify-run.js';

/**
 * What ties an alert to a run: the nonce in the shell's command line, or one of the Job's pods. The
 * nonce, a pod uid and a container id exist only since the run began, so such an alert is the run's
 * whatever Falco's event time says: a node's clock can be off, and Falco 0.34 (its libscap)
 * dates events from the ctime of /proc/1, off by every step the clock took after that inode was
 * made (7.9 s on a machine here). Only a pod name, which can recur, needs the event after the start.
 */
function runMatcher(kind: TriggerKind, nonce: string | undefined): ExpectedDetection['matches'] {
  if (kind === 'shell') return (entry) => alertCarriesNonce(entry.alert, nonce ?? '');
  return (entry, run, startMs) => {
    const tie = runPodTie(entry.alert, run.pods ?? []);
    return tie === 'identity' || (tie === 'name' && entry.timeMs >= startMs - CLOCK_SKEW_MS);
  };
}

/**
 * What a run must see: the nonce shell's alert, or the expected rules from the pods the run's Job
 * started (known from the Kubernetes API; an alert naming only the namespace proves nothing).
 */
export function expectedDetections(
  request: TriggerRequest,
  nonce: string | undefined,
  config: TriggersConfig,
): ExpectedDetection[] {
  if (request.kind === 'shell') return [{ rule: TERMINAL_SHELL_RULE, matches: runMatcher('shell', nonce) }];
  // The schema refused patterns RE2 cannot compile; one that slipped through selects nothing.
  const compiled = compileActionsPattern(request.actions);
  if (!compiled.ok) return [];
  const rules = selectExpectedRules(config.eventGenerator, compiled.pattern);
  const matches = runMatcher('event-generator', nonce);
  return rules.map((rule) => ({ rule, matches }));
}

/** What a run saved by another replica expects, in the order of its expectations. */
export function savedDetections(run: TriggerRun): ExpectedDetection[] {
  const matches = runMatcher(run.kind, run.nonce);
  return run.verification.expectations.map(({ rule }) => ({ rule, matches }));
}
