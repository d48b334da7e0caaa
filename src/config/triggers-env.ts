import * as z from 'zod';
import {
  GENERATOR_VERSIONS,
  RULES_FILES,
  type GeneratorVersion,
  type RulesFile,
} from '../triggers/data/event-generator-actions.js';
import { CONTAINER_NAME, DNS_LABEL, DNS_SUBDOMAIN, IMAGE_REFERENCE } from '../triggers/names.js';
import { bearerToken } from './bearer-token.js';
import { readConfigFile } from './read-config-file.js';
import { envFlag } from './env-flag.js';
import type { EnvView } from './env-view.js';
import { MAX_TIMER_MS, timerMs } from './timer-ms.js';
import { numberCheck, numberSetting, positiveInt } from './env-number.js';

// Its lease lasts 1.5 intervals (canary-schedule.ts), and a lease is a timer too: 23860 (16.5 days).
const CANARY_MAX_MINUTES = Math.floor(MAX_TIMER_MS / 60_000 / 1.5);
const list = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text) =>
      text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== ''),
    );
// An allow-list whose every item must look like `pattern`: its items go into commands as they are
// (the default image and namespace of a run), so `--privileged` must not pass as an image.
const names = (fallback: string, pattern: RegExp, what: string) =>
  list(fallback).superRefine((items, ctx) => {
    for (const item of items.filter((entry) => !pattern.test(entry)))
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(item)} is not ${what}` });
  });

const RULES_FILE_NAMES = RULES_FILES.join(', ');
const isRulesFile = (item: string): item is RulesFile => (RULES_FILES as readonly string[]).includes(item);

/** Trigger settings (spread into the env schema). Everything is off unless TRIGGERS_ENABLED=true. */
export const triggersEnvShape = {
  TRIGGERS_ENABLED: envFlag,
  TRIGGER_TOKEN: bearerToken,
  TRIGGER_TOKEN_FILE: z.string().min(1).optional(),
  TRIGGER_DEFAULT_BACKEND: z.enum(['kubernetes', 'docker']).default('kubernetes'),
  TRIGGER_ALLOWED_NAMESPACES: names('default', DNS_LABEL, 'a Kubernetes namespace name'),
  TRIGGER_ALLOWED_PODS: names('', DNS_SUBDOMAIN, 'a Kubernetes pod name'),
  // Containers in a pod or docker containers: a request on the kubernetes backend is held to DNS_LABEL.
  TRIGGER_ALLOWED_CONTAINERS: names('', CONTAINER_NAME, 'a Kubernetes or Docker container name'),
  TRIGGER_ALLOWED_IMAGES: names('busybox:1.36', IMAGE_REFERENCE, 'an image reference'),
  TRIGGER_KUBECONFIG: z.string().min(1).optional(),
  TRIGGER_COMMAND_TIMEOUT_MS: timerMs(1).default(120_000),
  TRIGGER_VERIFY_WINDOW_MS: timerMs(1).default(180_000),
  TRIGGER_MAX_CONCURRENT: positiveInt.default(1),
  TRIGGER_MAX_RUNS: positiveInt.default(100),
  TRIGGER_OUTPUT_MAX_CHARS: positiveInt.default(8_000),
  TRIGGER_EVENT_GENERATOR_CHART: z.string().min(1).default('event-generator'),
  TRIGGER_EVENT_GENERATOR_REPO: z.string().default('https://falcosecurity.github.io/charts'),
  TRIGGER_EVENT_GENERATOR_CHART_VERSION: z.string().default('0.4.0'),
  TRIGGER_EVENT_GENERATOR_VERSION: z.enum(GENERATOR_VERSIONS).default('v0.13'),
  // A privileged Job container: off, as the charts leave it, since it can reach the node.
  TRIGGER_EVENT_GENERATOR_PRIVILEGED: envFlag,
  // The falcosecurity/rules files the cluster's Falco loads (the charts load only the stable one).
  TRIGGER_FALCO_RULES: list('stable')
    .superRefine((items, ctx) => {
      if (items.length === 0)
        ctx.addIssue({ code: 'custom', message: `must name one or more of ${RULES_FILE_NAMES}` });
      for (const item of items.filter((entry) => !isRulesFile(entry)))
        ctx.addIssue({
          code: 'custom',
          message: `${JSON.stringify(item)} is not one of ${RULES_FILE_NAMES}`,
        });
    })
    .transform((items) => items.filter(isRulesFile)),
  // A helm plugin name or executable path: no shell or flag characters.
  TRIGGER_EVENT_GENERATOR_POST_RENDERER: z
    .string()
    .regex(/^[A-Za-z0-9./][A-Za-z0-9._/-]{0,200}$/, 'must be a helm plugin name or an executable path')
    .optional(),
  // Fractions allowed (0.05 = 3 s, as the e2e suite runs it); below a second a run never ends first.
  TRIGGER_CANARY_INTERVAL_MINUTES: numberSetting(0, {
    max: CANARY_MAX_MINUTES,
    fractions: true,
    note: ` (minutes; ${CANARY_MAX_MINUTES} is 16.5 days)`,
  })
    .refine(
      (minutes) => minutes === 0 || minutes * 60 >= 1,
      numberCheck('must be 0 (off) or at least 1 second (0.0167)'),
    )
    .default(0),
  TRIGGER_CANARY_KIND: z.enum(['shell', 'event-generator']).default('shell'),
};

type TriggersEnv = z.infer<z.ZodObject<typeof triggersEnvShape>>;

/** Trigger configuration as the app uses it. */
export interface TriggersConfig {
  enabled: boolean;
  /** TRIGGER_TOKEN, or the token TRIGGER_TOKEN_FILE held at start ('' with triggers off). */
  token: string;
  /** TRIGGER_TOKEN_FILE: read again once changed (token-files.ts). */
  tokenFile?: string;
  defaultBackend: 'kubernetes' | 'docker';
  allowed: { namespaces: string[]; pods: string[]; containers: string[]; images: string[] };
  kubeconfig?: string;
  commandTimeoutMs: number;
  verifyWindowMs: number;
  maxConcurrent: number;
  maxRuns: number;
  outputMaxChars: number;
  eventGenerator: {
    chart: string;
    repo?: string;
    chartVersion?: string;
    version: GeneratorVersion;
    /** The falcosecurity/rules files Falco loads: a run expects only their rules. */
    falcoRules: RulesFile[];
    /** Whether the Job's container is privileged: a run expects the rules of CAP_SYS_ADMIN actions only then. */
    privileged: boolean;
    /** helm --post-renderer for the install (the triggers image sets drop-cluster-rbac). */
    postRenderer?: string;
  };
  canary: { intervalMinutes: number; kind: 'shell' | 'event-generator' };
}

/** Cross-field problems zod's per-field shape cannot see (listed with the other config problems). */
export function triggersEnvProblems({ env, isSet, isUnset, knows }: EnvView<TriggersEnv>): string[] {
  // Each is a problem of triggers that are on: none is said while that is not known.
  if (!knows('TRIGGERS_ENABLED') || !env.TRIGGERS_ENABLED) return [];
  const problems =
    isUnset('TRIGGER_TOKEN') && isUnset('TRIGGER_TOKEN_FILE')
      ? ['TRIGGER_TOKEN: required when TRIGGERS_ENABLED=true (or TRIGGER_TOKEN_FILE)']
      : [];
  if (isSet('TRIGGER_TOKEN') && isSet('TRIGGER_TOKEN_FILE'))
    problems.push('TRIGGER_TOKEN and TRIGGER_TOKEN_FILE: set only one');
  if (knows('TRIGGER_ALLOWED_NAMESPACES') && env.TRIGGER_ALLOWED_NAMESPACES.length === 0)
    problems.push('TRIGGER_ALLOWED_NAMESPACES: needs at least one namespace');
  return problems;
}

/** The token TRIGGER_TOKEN_FILE holds, checked as TRIGGER_TOKEN is (at start and at each reload). */
export function readTriggerTokenFile(
  file: string,
): { token: string; problems: [] } | { token?: undefined; problems: string[] } {
  const read = readConfigFile('TRIGGER_TOKEN_FILE', file);
  if ('problem' in read) return { problems: [read.problem] };
  const checked = bearerToken.safeParse(read.text);
  if (!checked.success || checked.data === undefined)
    return {
      problems: [`TRIGGER_TOKEN_FILE: the token ${checked.error?.issues[0]?.message ?? 'is missing'}`],
    };
  return { token: checked.data, problems: [] };
}

const isLocalChart = (chart: string) =>
  chart.startsWith('/') || chart.startsWith('./') || chart.startsWith('oci://');

export function toTriggersConfig(env: TriggersEnv): TriggersConfig {
  const local = isLocalChart(env.TRIGGER_EVENT_GENERATOR_CHART);
  return {
    enabled: env.TRIGGERS_ENABLED,
    token: env.TRIGGER_TOKEN ?? '',
    tokenFile: env.TRIGGER_TOKEN_FILE,
    defaultBackend: env.TRIGGER_DEFAULT_BACKEND,
    allowed: {
      namespaces: env.TRIGGER_ALLOWED_NAMESPACES,
      pods: env.TRIGGER_ALLOWED_PODS,
      containers: env.TRIGGER_ALLOWED_CONTAINERS,
      images: env.TRIGGER_ALLOWED_IMAGES,
    },
    kubeconfig: env.TRIGGER_KUBECONFIG,
    commandTimeoutMs: env.TRIGGER_COMMAND_TIMEOUT_MS,
    verifyWindowMs: env.TRIGGER_VERIFY_WINDOW_MS,
    maxConcurrent: env.TRIGGER_MAX_CONCURRENT,
    maxRuns: env.TRIGGER_MAX_RUNS,
    outputMaxChars: env.TRIGGER_OUTPUT_MAX_CHARS,
    eventGenerator: {
      chart: env.TRIGGER_EVENT_GENERATOR_CHART,
      // A repository URL only goes with a chart name; OCI references and local paths carry their own location.
      repo: local || !env.TRIGGER_EVENT_GENERATOR_REPO ? undefined : env.TRIGGER_EVENT_GENERATOR_REPO,
      chartVersion: env.TRIGGER_EVENT_GENERATOR_CHART_VERSION || undefined,
      version: env.TRIGGER_EVENT_GENERATOR_VERSION,
      falcoRules: env.TRIGGER_FALCO_RULES,
      privileged: env.TRIGGER_EVENT_GENERATOR_PRIVILEGED,
      postRenderer: env.TRIGGER_EVENT_GENERATOR_POST_RENDERER,
    },
    canary: { intervalMinutes: env.TRIGGER_CANARY_INTERVAL_MINUTES, kind: env.TRIGGER_CANARY_KIND },
  };
}
