import os from 'node:os';
import type * as z from 'zod';
import { resolveAuth, type AuthConfig } from './auth-env.js';
import type { HardeningConfig } from './hardening-config.js';
import { resolveHardening } from './resolve-hardening.js';
import { toClusterConfig, type ClusterConfig } from './cluster-env.js';
import { envSchema, type Env } from './schema.js';
import { resolveStore, type RedisStoreConfig } from './store-env.js';
import { readTriggerTokenFile, toTriggersConfig, type TriggersConfig } from './triggers-env.js';
import { combinationProblems } from './combination-problems.js';
import { viewEnv } from './env-view.js';
import { VALUE_NOT_SHOWN } from './value-not-shown.js';
import { isNumberIssue } from './env-number.js';

/** The parsed configuration, or every problem found in the environment. */
export type LoadConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

/** The service configuration, derived from the environment once at start-up. */
export interface Config {
  port: number;
  host: string;
  logLevel: Env['LOG_LEVEL'];
  bodyLimitBytes: number;
  /** `redis` set: the shared Redis store; absent: the in-memory store. */
  store: { maxAlerts: number; maxBytes: number; redis?: RedisStoreConfig };
  metrics: {
    maxRules: number;
    maxHostnames: number;
    maxSources: number;
    extraLabels: Env['METRICS_EXTRA_LABELS'];
    maxExtraLabelValues: number;
    maxSeries: number;
  };
  shutdown: { delayMs: number; timeoutMs: number };
  stream: { heartbeatMs: number; maxClients: number };
  triggers: TriggersConfig;
  hardening: HardeningConfig;
  cluster: ClusterConfig;
  auth: AuthConfig;
}

function toConfig(
  env: Env,
  hardening: HardeningConfig,
  redis: RedisStoreConfig | undefined,
  auth: AuthConfig,
): Config {
  return {
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    store: { maxAlerts: env.STORE_MAX_ALERTS, maxBytes: env.STORE_MAX_BYTES, redis },
    metrics: {
      maxRules: env.METRICS_MAX_RULES,
      maxHostnames: env.METRICS_MAX_HOSTNAMES,
      maxSources: env.METRICS_MAX_SOURCES,
      extraLabels: env.METRICS_EXTRA_LABELS,
      maxExtraLabelValues: env.METRICS_MAX_EXTRA_LABEL_VALUES,
      maxSeries: env.METRICS_MAX_SERIES,
    },
    shutdown: { delayMs: env.SHUTDOWN_DELAY_MS, timeoutMs: env.SHUTDOWN_TIMEOUT_MS },
    stream: { heartbeatMs: env.STREAM_HEARTBEAT_MS, maxClients: env.STREAM_MAX_CLIENTS },
    triggers: toTriggersConfig(env),
    hardening,
    cluster: toClusterConfig(env),
    auth,
  };
}

// An env file, `docker run --env-file` and a ConfigMap from one keep quotes: `"true"` is six characters.
const quotesKept = (value: string) =>
  /^(["']).*\1$/s.test(value.trim())
    ? '; the quotes are part of the value (an env file or a ConfigMap made from one keeps them): write it without'
    : '';

// While enableServiceLinks is on (Kubernetes' default) a Service named admin in the namespace sets
// ADMIN_PORT=tcp://10.96.0.5:8081 in the pod, one named tls TLS_PORT: not the operator's doing.
function serviceLink(name: string, value: string): string {
  if (!name.endsWith('_PORT') || !/^(tcp|udp|sctp):\/\//.test(value)) return '';
  const service = name.slice(0, -'_PORT'.length).toLowerCase().replaceAll('_', '-');
  return `; Kubernetes sets it so for the Service named ${service} in the namespace: set the pod's enableServiceLinks: false, or set ${name} yourself`;
}

// A number setting says the form or the range it takes (env-number.ts), and zod `Invalid option` for
// TRIGGERS_ENABLED=yes, True or "true": the value and the form wanted say more. Only numbers and
// choices are quoted back, and none in `secrets`: npm run deploy reads the Secrets the manifests hold
// and prints to a CI log, and a Secret's key set to the wrong variable (a session key as
// SESSION_COOKIE_SECURE) is just what it finds. Any other value only gets the hint about its quotes;
// our own (custom) messages may quote an item of it, so for a Secret's value that one is not said.
function describeIssue(
  issue: z.core.$ZodIssue,
  env: Record<string, string | undefined>,
  secrets: ReadonlySet<string>,
): string {
  const name = String(issue.path[0]);
  const value = issue.path.length === 1 ? env[name] : undefined;
  if (value === undefined) return issue.message;
  const got = secrets.has(name) ? ` (${VALUE_NOT_SHOWN})` : ` (got ${JSON.stringify(value)})`;
  if (isNumberIssue(issue)) return `${issue.message}${got}${quotesKept(value)}${serviceLink(name, value)}`;
  if (issue.code === 'invalid_value')
    return `must be one of ${issue.values.map(String).join(', ')}${got}${quotesKept(value)}`;
  if (issue.code === 'custom' && secrets.has(name))
    return `is refused at start (${VALUE_NOT_SHOWN}, nor the reason, which may quote it)`;
  return `${issue.message}${quotesKept(value)}`;
}

// Blanks in a number variable mean what nothing does, its default, as PORT= does: PORT=' ' (a stray
// space in an env file) was Number(' '), 0, and listened on a random port, and WORKERS=' ' forked one
// worker per CPU. A number variable is told by its schema's refusal of the blanks.
function blankNumber(name: string, value: string): boolean {
  const shape: Record<string, z.ZodType> = envSchema.shape;
  if (value.trim() !== '' || !shape[name]) return false;
  const result = shape[name].safeParse(value);
  return !result.success && result.error.issues.every(isNumberIssue);
}

// Each issue on a line of its own, named by its variable, as the start and npm run deploy say them.
function issueLines(
  issues: z.core.$ZodIssue[],
  env: Record<string, string | undefined>,
  secrets: ReadonlySet<string> = new Set(),
): string[] {
  return issues.map((issue) => `${issue.path.join('.') || 'env'}: ${describeIssue(issue, env, secrets)}`);
}

/**
 * What loadConfig says of one variable's value on its own, a line per problem (none: taken, or not
 * a variable it reads): without the checks between variables and of the files they name. With
 * `fromSecret` the value is not quoted.
 */
export function variableProblems(name: string, value: string, fromSecret = false): string[] {
  const shape: Record<string, z.ZodType> = envSchema.shape;
  const field = shape[name];
  if (!field || value === '' || blankNumber(name, value)) return [];
  const result = field.safeParse(value);
  if (result.success) return [];
  const issues = result.error.issues.map((issue) => ({ ...issue, path: [name, ...issue.path] }));
  return issueLines(issues, { [name]: value }, new Set(fromSecret ? [name] : []));
}

/**
 * The variables that count as set: empty strings (and blanks, for a number) count as unset, so
 * `FOO=` falls back to the default.
 */
export function presentVariables(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined && entry[1] !== '' && !blankNumber(entry[0], entry[1]),
    ),
  );
}

/**
 * The problems that name no refused variable. The checks between variables run without those:
 * what they say of one would judge its default, not its value.
 */
export function withoutRefused(problems: string[], refused: ReadonlySet<string>): string[] {
  const namesRefused = (problem: string) =>
    [...refused].some((name) => new RegExp(`\\b${name}\\b`).test(problem));
  return problems.filter((problem) => !namesRefused(problem));
}

/** Parses the environment; see presentVariables for what counts as unset. */
export function loadConfig(env: NodeJS.ProcessEnv): LoadConfigResult {
  const present = presentVariables(env);
  const result = envSchema.safeParse(present);
  if (result.success) return resolveConfig(result.data);
  const problems = issueLines(result.error.issues, present);
  // The variables zod took still get their cross-variable and file checks, so one start lists every
  // problem.
  const refused = new Set(result.error.issues.map((issue) => String(issue.path[0])));
  const rest = envSchema.safeParse(
    Object.fromEntries(Object.entries(present).filter(([name]) => !refused.has(name))),
  );
  const checked = rest.success ? resolveConfig(rest.data) : undefined;
  const more = checked && !checked.ok ? checked.problems : [];
  return { ok: false, problems: [...problems, ...withoutRefused(more, refused)] };
}

// The checks zod's per-variable schema cannot make: between variables, and of the files they name.
function resolveConfig(env: Env): LoadConfigResult {
  const view = viewEnv(env, { cpus: os.availableParallelism() });
  const fromFile =
    env.TRIGGERS_ENABLED && env.TRIGGER_TOKEN_FILE && !env.TRIGGER_TOKEN
      ? readTriggerTokenFile(env.TRIGGER_TOKEN_FILE)
      : undefined;
  // From here on the token is TRIGGER_TOKEN's, wherever it came from.
  const data = fromFile?.token !== undefined ? { ...env, TRIGGER_TOKEN: fromFile.token } : env;
  const store = resolveStore(view);
  const hardening = resolveHardening(data);
  const auth = resolveAuth(data);
  const problems = [
    ...combinationProblems(view, {
      storeCredentials: store.ok,
      viewerTokens: auth.auth.viewerTokens.length > 0,
      sessionKeys: auth.auth.sessionSecrets.length > 0,
      tokens: {
        trigger: fromFile?.token,
        viewer: auth.auth.viewerTokens,
        metrics: auth.auth.metricsTokens,
      },
    }),
    ...(fromFile?.problems ?? []),
    ...(store.ok ? [] : store.problems),
    ...(hardening.ok ? [] : hardening.problems),
    ...auth.problems,
  ];
  if (!hardening.ok || !store.ok || problems.length > 0) return { ok: false, problems };
  return { ok: true, config: toConfig(data, hardening.hardening, store.redis, auth.auth) };
}
