import type { ShellTarget } from './shell-trigger.js';

/** A trigger request after validation and defaults. */
export type TriggerRequest =
  { kind: 'shell'; target: ShellTarget } | { kind: 'event-generator'; namespace: string; actions: string };

/** The run's target as shown in its JSON and the audit log (unset fields left out). */
export function describeTarget(request: TriggerRequest): Record<string, string> {
  const fields =
    request.kind === 'shell'
      ? { ...request.target, terminal: request.target.terminal === false ? 'false' : undefined }
      : { namespace: request.namespace, actions: request.actions };
  return Object.fromEntries(
    Object.entries(fields).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}
