import {
  GENERATOR_ACTIONS,
  type GeneratorAction,
  type GeneratorVersion,
  type RulesFile,
} from './data/event-generator-actions.js';
import { unmetNeeds } from './pod-needs.js';

/** The Job pod a run installs: which event-generator version, and whether it is privileged. */
export interface GeneratorPod {
  version: GeneratorVersion;
  privileged: boolean;
}

/** Which action table a run reads, its pod, and which falcosecurity/rules files the cluster's Falco loads. */
export interface GeneratorRules extends GeneratorPod {
  falcoRules: readonly RulesFile[];
}

/** What selects actions by name: an RE2 ActionsPattern (or, in tests, any RegExp). */
export interface ActionFilter {
  test(action: string): boolean;
}

/** The actions `actions` selects that event-generator starts in a container at all (disabled ones only with --all). */
function selectContainerActions(version: GeneratorVersion, actions: ActionFilter): GeneratorAction[] {
  const known = GENERATOR_ACTIONS[version];
  return known.actions.filter(
    (item) => actions.test(item.action) && item.runsInContainer && (known.runsDisabled || !item.disabled),
  );
}

/**
 * The actions of `version` that `actions` (event-generator's --actions regex) selects and that
 * actually run in a run's Job pod (disabled actions only where the chart passes --all; none that
 * event-generator skips in a container, or in this pod for want of, or despite, a privilege).
 */
export function selectActions(
  { version, privileged }: GeneratorPod,
  actions: ActionFilter,
): GeneratorAction[] {
  return selectContainerActions(version, actions).filter((item) => unmetNeeds(item, privileged).length === 0);
}

/** The selected actions event-generator would run in a container, but skips in this Job pod. */
export function selectActionsLackingNeeds(
  { version, privileged }: GeneratorPod,
  actions: ActionFilter,
): GeneratorAction[] {
  return selectContainerActions(version, actions).filter((item) => unmetNeeds(item, privileged).length > 0);
}

/**
 * The distinct rules a run must see: those of the selected actions that Falco loads (their rules
 * file is one of `falcoRules`) and enables by default.
 */
export function selectExpectedRules(rules: GeneratorRules, actions: ActionFilter): string[] {
  const expected = selectActions(rules, actions)
    .filter((item) => item.ruleEnabled && rules.falcoRules.includes(item.rulesFile))
    .map((item) => item.rule);
  return [...new Set(expected)];
}
