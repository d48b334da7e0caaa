import { isIPv6 } from 'node:net';
import * as z from 'zod';
import type { EnvView } from './env-view.js';
import {
  readPassword,
  sentinelOnlyProblems,
  sentinelSignIn,
  withFilePassword,
  type StoreSignIn,
} from './store-sign-in.js';
import { numberSetting } from './env-number.js';

const DURATION_UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
// Letters, digits and . _ - : only, so the prefix can never split or collide with our key names.
const KEY_PREFIX = /^[A-Za-z0-9._:-]{1,64}$/;

/** `30s`, `15m`, `24h`, `7d` as milliseconds, or undefined. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,6})([smhd])$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * DURATION_UNITS[match[2]!]!;
}

function decodable(url: URL): boolean {
  try {
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
    return true;
  } catch {
    return false;
  }
}

const storeUrl = z
  .string()
  .trim()
  .refine((text) => text === 'memory' || /^rediss?:\/\/[^\s]+$/.test(text), {
    error: 'must be memory, redis://[user:pass@]host:port[/db] or rediss://...',
  })
  .refine((text) => text === 'memory' || URL.canParse(text), { error: 'is not a valid URL' })
  // node-redis decodes the user and password (decodeURIComponent): a bare % (redis://u:100%@host)
  // threw URIError at each connection, or at start with STORE_PASSWORD_FILE ('URI malformed', exit 1).
  .refine((text) => text === 'memory' || !URL.canParse(text) || decodable(new URL(text)), {
    error:
      'has a user or password that is not URL-encoded: write % as %25 (and @ as %40, : as %3A, / as %2F)',
  })
  .optional();

/**
 * One Sentinel's `host:port`: a name or IPv4 address, or an IPv6 address in brackets
 * (`[fd00::5]:26379`), as in a URL. An IPv6 address without them cannot be told from its port:
 * `fd00::5` was read as host `fd00:`, port 5.
 */
function sentinelNode(node: string): { host: string; port: number } | { problem: string } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(node);
  const port = Number(match?.[3]);
  const shown = node.slice(0, 80);
  if (match && port >= 1 && port <= 65535 && (match[1] === undefined || isIPv6(match[1])))
    return { host: match[1] ?? match[2]!, port };
  if (!node.startsWith('[') && node.split(':').length > 2)
    return { problem: `${shown} is not host:port: write an IPv6 address in brackets, [fd00::5]:26379` };
  return { problem: `${shown} is not host:port` };
}

const sentinels = z
  .string()
  .optional()
  .transform((text, ctx) => {
    if (text === undefined) return undefined;
    const nodes = text.split(',').map((item) => item.trim());
    return nodes.map((node) => {
      const parsed = sentinelNode(node);
      if ('problem' in parsed) {
        ctx.addIssue({ code: 'custom', message: parsed.problem });
        return { host: '', port: 0 };
      }
      return parsed;
    });
  });

// An ACL user name is one word: Redis's ACL file and `ACL SETUSER` split at spaces.
const aclUser = z
  .string()
  .regex(/^[\x21-\x7e]{1,256}$/, { error: 'must be one word of visible ASCII, at most 256 characters' })
  .optional();

/** Environment of the alert store: memory (default) or Redis, single node or through Sentinel. */
export const storeEnvShape = {
  STORE_URL: storeUrl,
  STORE_SENTINELS: sentinels,
  STORE_SENTINEL_MASTER: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, { error: 'must be 1-64 of A-Z a-z 0-9 . _ -' })
    .optional(),
  STORE_PASSWORD_FILE: z.string().min(1).optional(),
  STORE_USERNAME: aclUser,
  STORE_SENTINEL_USERNAME: aclUser,
  STORE_SENTINEL_PASSWORD_FILE: z.string().min(1).optional(),
  STORE_KEY_PREFIX: z
    .string()
    .regex(KEY_PREFIX, { error: 'must be 1-64 of A-Z a-z 0-9 . _ - :' })
    .default('falco-alert-receiver'),
  STORE_RETENTION: z
    .string()
    .default('24h')
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      // Below a minute a replica would give up its own trigger runs between two renewals of their
      // holds (every 10 s; run-holds.ts), and alerts would leave before a run could read them.
      if (ms === undefined || ms < 60_000)
        ctx.addIssue({
          code: 'custom',
          message: 'must be a duration of at least 1m, like 90s, 30m, 24h or 7d',
        });
      return ms ?? 0;
    }),
  STORE_PENDING_MAX: numberSetting(1, { max: 1_000_000 }).default(10_000),
};

type StoreEnv = z.infer<z.ZodObject<typeof storeEnvShape>>;

/** Where the shared Redis is: one URL, or Sentinels that name the current master. */
export type RedisTarget =
  | { kind: 'url'; url: string }
  | { kind: 'sentinel'; sentinels: Array<{ host: string; port: number }>; master: string };

/** The Redis store's settings (absent: the in-memory store). */
export interface RedisStoreConfig {
  target: RedisTarget;
  password?: string;
  /** STORE_PASSWORD_FILE: read again at each connect, so a rotated password is taken without a restart. */
  passwordFile?: string;
  /** STORE_USERNAME: the data nodes' ACL user through Sentinel (STORE_URL names its own user). */
  username?: string;
  /** How the receiver signs in to the Sentinels, when they ask (STORE_SENTINEL_USERNAME, _PASSWORD_FILE). */
  sentinelAuth?: StoreSignIn;
  keyPrefix: string;
  retentionMs: number;
  pendingMax: number;
}

// STORE_URL=memory is the in-memory store, as no STORE_URL is.
const redisUrl = (env: StoreEnv) => (env.STORE_URL === 'memory' ? undefined : env.STORE_URL);

// Whether Redis is reached through Sentinel, and by a URL; undefined where not known here (a URL
// from a Secret may be memory).
function storeKind({ env, isSet, isUnset, knows }: EnvView<StoreEnv>) {
  const names = ['STORE_SENTINELS', 'STORE_SENTINEL_MASTER'] as const;
  const sentinel = names.some(isSet) ? true : names.every(isUnset) ? false : undefined;
  return { sentinel, url: knows('STORE_URL') ? redisUrl(env) !== undefined : undefined };
}

/** Whether the store is Redis, shared by replicas (undefined: not known here). */
export function sharesStore(view: EnvView<StoreEnv>): boolean | undefined {
  const { sentinel, url } = storeKind(view);
  if (sentinel === true || url === true) return true;
  return sentinel === false && url === false ? false : undefined;
}

/** The problems between the STORE_ variables (those of the files they name are resolveStore's). */
export function storeEnvProblems(view: EnvView<StoreEnv>): string[] {
  const { isSet, isUnset } = view;
  const { sentinel, url } = storeKind(view);
  const problems: string[] = [];
  if (sentinel === true && (isUnset('STORE_SENTINELS') || isUnset('STORE_SENTINEL_MASTER')))
    problems.push('STORE_SENTINELS and STORE_SENTINEL_MASTER: set both to use Sentinel');
  if (sentinel === true && url === true)
    problems.push(
      'STORE_URL and STORE_SENTINELS: set only one (through Sentinel the user is STORE_USERNAME, the password STORE_PASSWORD_FILE)',
    );
  if (sentinel === false) problems.push(...sentinelOnlyProblems(isSet));
  if (isSet('STORE_PASSWORD_FILE') && url === false && sentinel === false)
    problems.push('STORE_PASSWORD_FILE: needs STORE_URL=redis://... or STORE_SENTINELS');
  return problems;
}

/**
 * The Redis store config (undefined for memory), or the problems of the files the STORE_ variables
 * name; those between the variables are storeEnvProblems', checked with them.
 */
export function resolveStore(
  view: EnvView<StoreEnv>,
): { ok: true; redis?: RedisStoreConfig } | { ok: false; problems: string[] } {
  const { env } = view;
  const problems: string[] = [];
  const url = redisUrl(env);
  const sentinel = storeKind(view).sentinel === true;
  const fromFile = readPassword('STORE_PASSWORD_FILE', env.STORE_PASSWORD_FILE);
  if (fromFile.problem) problems.push(fromFile.problem);
  const sentinelFile = readPassword('STORE_SENTINEL_PASSWORD_FILE', env.STORE_SENTINEL_PASSWORD_FILE);
  if (sentinelFile.problem) problems.push(sentinelFile.problem);
  const credentials =
    url && fromFile.password !== undefined ? withFilePassword(url, fromFile.password) : { url };
  if ('problem' in credentials) problems.push(credentials.problem);
  if (problems.length > 0) return { ok: false, problems };
  if (!url && !sentinel) return { ok: true };
  const target: RedisTarget = sentinel
    ? {
        kind: 'sentinel',
        sentinels: env.STORE_SENTINELS ?? [],
        master: env.STORE_SENTINEL_MASTER ?? '',
      }
    : { kind: 'url', url: ('url' in credentials ? credentials.url : url) ?? '' };
  return {
    ok: true,
    redis: {
      target,
      password: fromFile.password,
      passwordFile: env.STORE_PASSWORD_FILE,
      username: env.STORE_USERNAME,
      sentinelAuth: sentinelSignIn(env, sentinelFile.password),
      keyPrefix: env.STORE_KEY_PREFIX,
      retentionMs: env.STORE_RETENTION,
      pendingMax: env.STORE_PENDING_MAX,
    },
  };
}
