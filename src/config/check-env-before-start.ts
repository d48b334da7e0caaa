import { combinationProblems } from './combination-problems.js';
import { viewEnv } from './env-view.js';
import { presentVariables, variableProblems, withoutRefused } from './load-config.js';
import { envSchema } from './schema.js';

/**
 * What the receiver would refuse at start (exit 2) in an environment known only in part, as
 * `npm run deploy` finds it in the rendered manifests: an undefined value is set, from a Secret or
 * the downward API, to a value not known there; with `othersMayBeSet` (a Secret's keys taken
 * whole) a variable not in `env` may be set too, and one in `mayBeSet` (from a key marked
 * optional) may be set or not; one in `secrets` is a Secret's, and no problem quotes it. Each
 * known value is checked on its own, and the variables together, in the receiver's words
 * (`NAME: problem`, one a problem); no file is read, and nothing is said that an unknown value or
 * what a file holds could clear: that is left to the start.
 */
export function checkEnvBeforeStart(
  env: Record<string, string | undefined>,
  {
    othersMayBeSet = false,
    mayBeSet = new Set<string>(),
    secrets = new Set<string>(),
  }: { othersMayBeSet?: boolean; mayBeSet?: ReadonlySet<string>; secrets?: ReadonlySet<string> } = {},
): string[] {
  const problems: string[] = [];
  const refused = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    const said = value === undefined ? [] : variableProblems(name, value, secrets.has(name));
    if (said.length === 0) continue;
    problems.push(...said);
    refused.add(name);
  }
  const known = Object.entries(presentVariables(env)).filter(([name]) => !refused.has(name));
  const parsed = envSchema.safeParse(Object.fromEntries(known));
  // Each of these values was taken on its own, and zod judges each variable alone.
  if (!parsed.success) return problems;
  const view = viewEnv(parsed.data, {
    values: new Set(Object.keys(env).filter((name) => env[name] === undefined)),
    unsure: mayBeSet,
    listed: othersMayBeSet ? new Set(Object.keys(env)) : undefined,
    secrets,
  });
  return [...problems, ...withoutRefused(combinationProblems(view), refused)];
}
