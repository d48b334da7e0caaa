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
export function selectContainerActions(version: GeneratorVersion, actions: ActionFilter): GeneratorAction[] {
  const known = GENERATOR_ACTIONS[version];
  return known.actions.filter(
    (item) => actions.test(item.action) && item.runsInContainer && (known.runsDisabled || !item.disabled),
  );
}

/**
 * The actions of `version` that `actions` (event-generator's --actions regex) selects and whose
 * rule can fire from a run's Job pod (disabled actions only where the chart passes --all; none that
 * event-generator skips in a container, or in this pod for want of, or despite, a privilege; none
 * whose rule asks for a privilege the pod lacks).
 */
export function selectActions(
  { version, privileged }: GeneratorPod,
  actions: ActionFilter,
): GeneratorAction[] {
  return selectContainerActions(version, actions).filter((item) => unmetNeeds(item, privileged).length === 0);
}

// Whether Falco loads `item`'s rule (its rules file is one of `falcoRules`) and enables it by default.
const ruleLoaded = ({ falcoRules }: GeneratorRules, item: GeneratorAction) =>
  item.ruleEnabled && falcoRules.includes(item.rulesFile);

/**
 * The selected actions whose rule Falco loads but the Job pod cannot trigger for want of what they
 * need (a privilege, capsh): those a pod that met their needs would expect.
 */
export function selectActionsLackingNeeds(rules: GeneratorRules, actions: ActionFilter): GeneratorAction[] {
  return selectContainerActions(rules.version, actions).filter(
    (item) => ruleLoaded(rules, item) && unmetNeeds(item, rules.privileged).length > 0,
  );
}

/**
 * The distinct rules a run must see: those of the selected actions that Falco loads (their rules
 * file is one of `falcoRules`) and enables by default.
 */
export function selectExpectedRules(rules: GeneratorRules, actions: ActionFilter): string[] {
  const expected = selectActions(rules, actions)
    .filter((item) => ruleLoaded(rules, item))
    .map((item) => item.rule);
  return [...new Set(expected)];
}
