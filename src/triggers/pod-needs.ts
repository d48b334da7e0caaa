import type { GeneratorAction, PodNeed } from './data/event-generator-actions.js';

/**
 * What the Job pod a run installs offers an action: the charts give its container no
 * securityContext, so no CAP_SYS_ADMIN unless TRIGGER_EVENT_GENERATOR_PRIVILEGED asks for
 * `privileged`; never capsh, which the event-generator image does not ship.
 */
const podOffers = (privileged: boolean): readonly PodNeed[] =>
  privileged ? ['privileged'] : ['unprivileged'];

/** The needs of `action` that the Job pod does not meet: none means its rule can fire there. */
export const unmetNeeds = (action: GeneratorAction, privileged: boolean): PodNeed[] =>
  action.needs.filter((need) => !podOffers(privileged).includes(need));

const NEED_TEXT: Record<PodNeed, string> = {
  privileged: 'a privileged container (TRIGGER_EVENT_GENERATOR_PRIVILEGED=true)',
  unprivileged: 'a container without CAP_SYS_ADMIN (TRIGGER_EVENT_GENERATOR_PRIVILEGED=false)',
  capsh: 'capsh, which the event-generator image lacks',
};

/** Why the Job pod cannot trigger `action`'s rule, e.g. "syscall.X needs a privileged container (...)". */
export function describeUnmetNeeds(action: GeneratorAction, privileged: boolean): string {
  const unmet = unmetNeeds(action, privileged);
  // No setting brings capsh into the image: naming a privilege too would promise a fix that is not one.
  const shown = unmet.includes('capsh') ? ['capsh' as const] : unmet;
  return `${action.action} needs ${shown.map((need) => NEED_TEXT[need]).join(' and ')}`;
}
