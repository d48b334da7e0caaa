import type { TriggersConfig } from '../config/triggers-env.js';
import { alertCarriesNonce, alertFromNamespace, TERMINAL_SHELL_RULE } from './alert-matchers.js';
import { selectExpectedRules } from './expected-rules.js';
import type { TriggerRequest } from './trigger-service.js';
import type { ExpectedDetection } from './verify-run.js';

/** What a run must see: the nonce shell's alert, or the expected rules from the run's namespace. */
export function expectedDetections(
  request: TriggerRequest,
  nonce: string | undefined,
  config: TriggersConfig,
): ExpectedDetection[] {
  if (request.kind === 'shell') {
    return [{ rule: TERMINAL_SHELL_RULE, matches: (entry) => alertCarriesNonce(entry.alert, nonce ?? '') }];
  }
  const rules = selectExpectedRules(config.eventGenerator.version, new RegExp(request.actions));
  return rules.map((rule) => ({
    rule,
    matches: (entry) => alertFromNamespace(entry.alert, request.namespace),
  }));
}
