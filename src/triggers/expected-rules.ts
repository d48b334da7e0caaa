import {
  GENERATOR_ACTIONS,
  type GeneratorAction,
  type GeneratorVersion,
  type RulesFile,
} from './data/event-generator-actions.js';

/** Which action table a run reads and which falcosecurity/rules files the cluster's Falco loads. */
export interface GeneratorRules {
  version: GeneratorVersion;
  falcoRules: readonly RulesFile[];
}

/** What selects actions by name: an RE2 ActionsPattern (or, in tests, any RegExp). */
export interface ActionFilter {
  test(action: string): boolean;
}

/**
 * The actions of `version` that `actions` (event-generator's --actions regex) selects and that
 * actually run in a run's Job pod (disabled actions only where the chart passes --all; none that
 * event-generator skips in a container).
 */
export function selectActions(version: GeneratorVersion, actions: ActionFilter): GeneratorAction[] {
  const known = GENERATOR_ACTIONS[version];
  return known.actions.filter(
    (item) => actions.test(item.action) && item.runsInContainer && (known.runsDisabled || !item.disabled),
  );
}

/**
 * The distinct rules a run must see: those of the selected actions that Falco loads (their rules
 * file is one of `falcoRules`) and enables by default.
 */
export function selectExpectedRules(
  { version, falcoRules }: GeneratorRules,
  actions: ActionFilter,
): string[] {
  const rules = selectActions(version, actions)
    .filter((item) => item.ruleEnabled && falcoRules.includes(item.rulesFile))
    .map((item) => item.rule);
  return [...new Set(rules)];
}
