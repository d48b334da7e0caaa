import { BlockList, isIP } from 'node:net';
import * as z from 'zod';
import { bearerToken } from './bearer-token.js';
import type { EnvView } from './env-view.js';
import { timerMs, timerSeconds } from './timer-ms.js';
import { numberSetting, port, positiveInt } from './env-number.js';
import { VALUE_NOT_SHOWN } from './value-not-shown.js';
import {
  readConfigFile,
  SECRET_LINES,
  secretLines,
  secretLinesProblem,
  type SecretLinesCap,
} from './read-config-file.js';

/** Each session key, SESSION_SECRET or a line of SESSION_SECRET_FILE, at start and at each reload alike. */
export const SESSION_SECRET_MIN_LENGTH = 32;

const optionalPath = z.string().min(1).optional();
const headerName = z
  .string()
  .regex(/^[A-Za-z0-9-]{1,64}$/, { error: 'must be an HTTP header name (A-Z a-z 0-9 -)' })
  .transform((name) => name.toLowerCase())
  .optional();

/** Read access, sessions, the auth proxy and the admin listener (spread into the env schema). */
export const authEnvShape = {
  VIEWER_TOKEN: bearerToken,
  VIEWER_TOKEN_FILE: optionalPath,
  METRICS_TOKEN: bearerToken,
  METRICS_TOKEN_FILE: optionalPath,
  TOKEN_RELOAD_CHECK_MS: timerMs(100).default(10_000),
  // One key (the whole value); a keyring for rotation is SESSION_SECRET_FILE's lines. Trimmed as
  // they are: a Secret made with --from-file ends in the newline its file had, and a replica given
  // the same Secret as SESSION_SECRET_FILE refused every cookie the other signed.
  SESSION_SECRET: z
    .string()
    .trim()
    .min(SESSION_SECRET_MIN_LENGTH, `must be at least ${SESSION_SECRET_MIN_LENGTH} characters`)
    .optional(),
  SESSION_SECRET_FILE: optionalPath,
  SESSION_TTL_SECONDS: numberSetting(1, { max: 7 * 24 * 3600, note: ' (seconds; 7 days)' }).default(8 * 3600),
  // auto: Secure when the request came over TLS here; true behind a proxy that terminates TLS.
  SESSION_COOKIE_SECURE: z.enum(['auto', 'true', 'false']).default('auto'),
  AUTH_FAILURE_LIMIT: positiveInt.default(10),
  AUTH_FAILURE_WINDOW_SECONDS: timerSeconds(1).default(60),
  AUTH_FAILURE_MAX_CLIENTS: positiveInt.default(10_000),
  AUTH_PROXY_USER_HEADER: headerName,
  AUTH_PROXY_CIDRS: z.string().optional(),
  ADMIN_PORT: port.optional(),
};

type AuthEnv = z.infer<z.ZodObject<typeof authEnvShape>>;

/** Who may read, and how failures and sessions are bounded. */
export interface AuthConfig {
  /** Bearer tokens that read (empty: reading is open, as without this feature). */
  viewerTokens: string[];
  /** Bearer tokens for /metrics (empty: open). */
  metricsTokens: string[];
  /** The files the lists came from, read again once changed (token-files.ts). */
  tokenFiles: { viewer?: string; metrics?: string; session?: string; reloadCheckMs: number };
  /** HMAC keys of session cookies: the first signs, every one verifies; empty: a random key per process. */
  sessionSecrets: string[];
  sessionTtlMs: number;
  /** Whether the session cookie says Secure: always, never, or when the request came over TLS. */
  sessionCookieSecure: 'auto' | 'true' | 'false';
  failures: { limit: number; windowMs: number; maxClients: number };
  proxy?: { userHeader: string; trusted: BlockList; cidrs: string[] };
  /** A second listener for people (dashboard, queries, stream, triggers). */
  adminPort?: number;
}

// Secrets mounted from a Kubernetes Secret end in a newline; a token file may hold several, one a line.
/** The tokens of a token file, or why it is refused (`name` is the variable that names it). */
export function readTokenFile(
  name: string,
  file: string,
  minLength: number,
  cap: SecretLinesCap = SECRET_LINES,
): { lines: string[]; problems: string[] } {
  const read = readConfigFile(name, file);
  if ('problem' in read) return { lines: [], problems: [read.problem] };
  const lines = secretLines(read.text);
  const problems = lines.some((line) => line.length < minLength)
    ? [`${name}: every line must be at least ${minLength} characters`]
    : lines.some((line) => /\s/.test(line))
      ? [`${name}: every line must be one token, without spaces inside`]
      : lines.length === 0
        ? [`${name}: ${file} holds no token`]
        : secretLinesProblem(name, lines.length, cap);
  return { lines, problems };
}

/** Tokens a viewer token or /metrics token list may hold, at start and at each reload alike. */
export const TOKEN_MIN_LENGTH = 16;

/**
 * The most keys SESSION_SECRET_FILE may hold, at start and at each reload alike. A request with a
 * well-formed session cookie costs one HMAC per key (the cookie does not say which key signed it,
 * and anyone can send one): about 5-10 us a key here, so a file of 1,000 keys made each such request
 * cost 20 ms. A rotation needs two keys (the new one signing, the old one verifying for
 * SESSION_TTL_SECONDS, at most 7 days), three if the next starts before the old key is out; daily
 * rotations at the longest TTL need eight. 16 is twice that, and costs at most about 0.2 ms a request.
 */
export const SESSION_KEYS_MAX = 16;

/** The keys of SESSION_SECRET_FILE, first signs, or why it is refused: at start and at each reload alike. */
export function readSessionKeys(file: string): { lines: string[]; problems: string[] } {
  return readTokenFile('SESSION_SECRET_FILE', file, SESSION_SECRET_MIN_LENGTH, {
    count: SESSION_KEYS_MAX,
    noun: 'keys',
    why: ' (each session cookie is checked against every key): keep the one that signs and those taken out of signing less than SESSION_TTL_SECONDS ago',
  });
}

// The trigger token wins where it is also a viewer's or /metrics' token: every reader (or the
// Prometheus that scrapes) could start and cancel runs.
const TRIGGER_CLASH = {
  viewer:
    'TRIGGER_TOKEN: must differ from every viewer token (VIEWER_TOKEN, VIEWER_TOKEN_FILE): it also starts trigger runs, so every reader could',
  metrics:
    'TRIGGER_TOKEN: must differ from every /metrics token (METRICS_TOKEN, METRICS_TOKEN_FILE): it also starts trigger runs, so whatever scrapes could',
};

/** The problem of a viewer or /metrics token list that holds the trigger token, if it does. */
export function triggerTokenClash(
  list: 'viewer' | 'metrics',
  tokens: readonly string[],
  triggerToken: string | undefined,
): string[] {
  return triggerToken !== undefined && triggerToken !== '' && tokens.includes(triggerToken)
    ? [TRIGGER_CLASH[list]]
    : [];
}

// Each is one value, or a file of them (NAME_FILE).
const SECRET_LISTS = ['VIEWER_TOKEN', 'METRICS_TOKEN', 'SESSION_SECRET'] as const;

function secretList(
  name: string,
  value: string | undefined,
  file: string | undefined,
  readFile: (file: string) => { lines: string[]; problems: string[] },
) {
  // Both set is refused by authEnvProblems: neither is read.
  if (value !== undefined && file !== undefined) return { lines: [], problems: [] };
  if (file !== undefined) return readFile(file);
  return { lines: value === undefined ? [] : [value], problems: [] };
}

const tokenList = (name: string, value: string | undefined, file: string | undefined) =>
  secretList(name, value, file, (path) => readTokenFile(`${name}_FILE`, path, TOKEN_MIN_LENGTH));

// `shown` false: the value is a Secret's, and no item of it is quoted.
function parseCidrs(text: string, shown = true): { list: BlockList; cidrs: string[]; problems: string[] } {
  const list = new BlockList();
  const cidrs = text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  const problems: string[] = [];
  for (const cidr of cidrs) {
    const [address = '', bits] = cidr.split('/');
    const family = isIP(address);
    const prefix = bits === undefined ? (family === 6 ? 128 : 32) : Number(bits);
    if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) {
      const item = shown ? JSON.stringify(cidr) : 'an item';
      problems.push(
        `AUTH_PROXY_CIDRS: ${item} is not an address or CIDR${shown ? '' : ` (${VALUE_NOT_SHOWN})`}`,
      );
      continue;
    }
    list.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return { list, cidrs, problems };
}

/** What the auth checks between variables are told: undefined where not known. */
export interface AuthContext {
  /** The worker count. */
  workers: number | undefined;
  sharedStore: boolean | undefined;
  /** Whether VIEWER_TOKEN_FILE and SESSION_SECRET_FILE hold a line (read at start; before, taken as so). */
  held: { viewerTokens: boolean; sessionKeys: boolean };
}

/** The problems between the auth variables, and of AUTH_PROXY_CIDRS' value. */
export function authEnvProblems(
  { env, isSet, isUnset, knows, shows }: EnvView<AuthEnv & { PORT: number }>,
  { workers, sharedStore, held }: AuthContext,
): string[] {
  const problems = SECRET_LISTS.filter((name) => isSet(name) && isSet(`${name}_FILE`)).map(
    (name) => `${name} and ${name}_FILE: set only one`,
  );
  // Each worker or replica would sign cookies with its own random key and refuse the others'.
  const severalProcesses = (workers !== undefined && workers !== 1) || sharedStore === true;
  // A list set twice is read from neither.
  const viewerTokens =
    (isSet('VIEWER_TOKEN') && isUnset('VIEWER_TOKEN_FILE')) ||
    (isUnset('VIEWER_TOKEN') && isSet('VIEWER_TOKEN_FILE') && held.viewerTokens);
  const noSessionKeys =
    (isSet('SESSION_SECRET') && isSet('SESSION_SECRET_FILE')) ||
    (isUnset('SESSION_SECRET') &&
      (isUnset('SESSION_SECRET_FILE') || (isSet('SESSION_SECRET_FILE') && !held.sessionKeys)));
  if (viewerTokens && severalProcesses && noSessionKeys)
    problems.push(
      'SESSION_SECRET: required with VIEWER_TOKEN when WORKERS is not 1 or replicas share a store (STORE_URL, STORE_SENTINELS)',
    );
  // Unknown here, AUTH_PROXY_CIDRS may hold no address (a comma) as well as some.
  if (knows('AUTH_PROXY_CIDRS')) {
    const cidrs = parseCidrs(env.AUTH_PROXY_CIDRS ?? '', shows('AUTH_PROXY_CIDRS'));
    problems.push(...cidrs.problems);
    const half = cidrs.cidrs.length > 0 ? isUnset('AUTH_PROXY_USER_HEADER') : isSet('AUTH_PROXY_USER_HEADER');
    if (half)
      problems.push(
        'AUTH_PROXY_USER_HEADER and AUTH_PROXY_CIDRS: set both (the header is trusted only from those addresses)',
      );
  }
  const { ADMIN_PORT: admin, PORT: port } = env;
  if (knows('ADMIN_PORT', 'PORT') && admin !== undefined && admin !== 0 && admin === port)
    problems.push('ADMIN_PORT: must differ from PORT');
  return problems;
}

/**
 * The auth part of `Config`, and the problems of the token files (the config is for use only
 * without any); those between the variables are authEnvProblems' and triggerTokenClashes'.
 */
export function resolveAuth(env: AuthEnv): { auth: AuthConfig; problems: string[] } {
  const viewer = tokenList('VIEWER_TOKEN', env.VIEWER_TOKEN, env.VIEWER_TOKEN_FILE);
  const metrics = tokenList('METRICS_TOKEN', env.METRICS_TOKEN, env.METRICS_TOKEN_FILE);
  const session = secretList('SESSION_SECRET', env.SESSION_SECRET, env.SESSION_SECRET_FILE, readSessionKeys);
  const problems = [...viewer.problems, ...metrics.problems, ...session.problems];
  const header = env.AUTH_PROXY_USER_HEADER;
  const cidrs = parseCidrs(env.AUTH_PROXY_CIDRS ?? '');
  return {
    problems,
    auth: {
      viewerTokens: viewer.lines,
      metricsTokens: metrics.lines,
      tokenFiles: {
        viewer: env.VIEWER_TOKEN_FILE,
        metrics: env.METRICS_TOKEN_FILE,
        session: env.SESSION_SECRET_FILE,
        reloadCheckMs: env.TOKEN_RELOAD_CHECK_MS,
      },
      sessionSecrets: session.lines,
      sessionTtlMs: env.SESSION_TTL_SECONDS * 1000,
      sessionCookieSecure: env.SESSION_COOKIE_SECURE,
      failures: {
        limit: env.AUTH_FAILURE_LIMIT,
        windowMs: env.AUTH_FAILURE_WINDOW_SECONDS * 1000,
        maxClients: env.AUTH_FAILURE_MAX_CLIENTS,
      },
      proxy:
        header === undefined ? undefined : { userHeader: header, trusted: cidrs.list, cidrs: cidrs.cidrs },
      adminPort: env.ADMIN_PORT,
    },
  };
}
