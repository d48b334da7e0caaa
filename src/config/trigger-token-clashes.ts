import { triggerTokenClash } from './auth-env.js';
import type { EnvView } from './env-view.js';
import type { Env } from './schema.js';

type TokenEnv = Pick<
  Env,
  | 'TRIGGERS_ENABLED'
  | 'TRIGGER_TOKEN'
  | 'TRIGGER_TOKEN_FILE'
  | 'VIEWER_TOKEN'
  | 'VIEWER_TOKEN_FILE'
  | 'METRICS_TOKEN'
  | 'METRICS_TOKEN_FILE'
>;

/**
 * The tokens read at start; undefined where not read (before the start, or a file refused). Each is
 * looked at only where its file alone names the tokens, so the lists read may be passed whole.
 */
export interface TokenFilesHeld {
  /** The token TRIGGER_TOKEN_FILE holds. */
  trigger?: string;
  /** The viewer tokens: VIEWER_TOKEN_FILE's lines. */
  viewer?: readonly string[];
  /** The /metrics tokens: METRICS_TOKEN_FILE's lines. */
  metrics?: readonly string[];
}

type TokenPair = 'TRIGGER_TOKEN' | 'VIEWER_TOKEN' | 'METRICS_TOKEN';

/**
 * The tokens a variable and its file (NAME, NAME_FILE) put in force, as the start takes them:
 * undefined where a value not known here, a file not read, or a variable that may be set or not
 * decides them. Both set, the trigger token is TRIGGER_TOKEN's, and a list is read from neither.
 */
function tokensInForce(
  { env, isSet, isUnset, knows }: EnvView<TokenEnv>,
  name: TokenPair,
  fileHolds: readonly string[] | undefined,
): readonly string[] | undefined {
  const file = `${name}_FILE` as const;
  const value = () => (knows(name) ? [env[name]].filter((token) => token !== undefined) : undefined);
  if (isSet(name) && isSet(file)) return name === 'TRIGGER_TOKEN' ? value() : [];
  if (isUnset(file)) return value();
  return isUnset(name) && isSet(file) ? fileHolds : undefined;
}

/**
 * The trigger token wins where a viewer or /metrics token is the same (credentials.ts): with
 * triggers on, each list that holds it is refused, at start and by `npm run deploy`. A token or
 * list not known here may hold anything, and no clash is said with it.
 */
export function triggerTokenClashes(view: EnvView<TokenEnv>, files: TokenFilesHeld): string[] {
  if (!view.knows('TRIGGERS_ENABLED') || !view.env.TRIGGERS_ENABLED) return [];
  const [trigger] =
    tokensInForce(view, 'TRIGGER_TOKEN', files.trigger === undefined ? undefined : [files.trigger]) ?? [];
  if (trigger === undefined) return [];
  const viewer = tokensInForce(view, 'VIEWER_TOKEN', files.viewer) ?? [];
  const metrics = tokensInForce(view, 'METRICS_TOKEN', files.metrics) ?? [];
  return [...triggerTokenClash('viewer', viewer, trigger), ...triggerTokenClash('metrics', metrics, trigger)];
}
