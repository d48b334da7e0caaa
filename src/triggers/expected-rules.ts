import {
  GENERATOR_ACTIONS,
  type GeneratorAction,
  type GeneratorVersion,
} from './data/event-generator-actions.js';

/** What selects actions by name: an RE2 ActionsPattern (or, in tests, any RegExp). */
export interface ActionFilter {
  test(action: string): boolean;
}

/**
 * The actions of `version` that `actions` (event-generator's --actions regex) selects and that
 * actually run (disabled actions only where the chart passes --all).
 */
export function selectActions(version: GeneratorVersion, actions: ActionFilter): GeneratorAction[] {
  const known = GENERATOR_ACTIONS[version];
  return known.actions.filter((item) => actions.test(item.action) && (known.runsDisabled || !item.disabled));
}

/** The distinct rules a run must see: those of the selected actions that Falco enables by default. */
export function selectExpectedRules(version: GeneratorVersion, actions: ActionFilter): string[] {
  const rules = selectActions(version, actions)
    .filter((item) => item.ruleEnabled)
    .map((item) => item.rule);
  return [...new Set(rules)];
}
