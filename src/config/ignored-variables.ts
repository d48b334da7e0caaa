import { WORKERS_SERVE } from '../server/cluster-tls-files.js';
import { envSchema } from './schema.js';

/** A variable named like this service's own that it does not read, and the one probably meant. */
export interface UnknownVariable {
  variable: string;
  suggestion?: string;
}

const KNOWN = Object.keys(envSchema.shape);
// The first word of every variable of ours with more than one (VIEWER_, STORE_, TRIGGER_, ...), and
// WORKERS_: a name that starts like ours but is not one is a typo more often than someone else's.
// PORT and HOST alone are not prefixes: HOST_IP is what the downward API is often given as.
const PREFIXES = [
  ...new Set([...KNOWN.filter((name) => name.includes('_')).map((name) => name.split('_')[0]!), 'WORKERS']),
].map((word) => `${word}_`);

// What Kubernetes sets for each Service in the namespace while enableServiceLinks is on (its
// default): FOO_SERVICE_HOST, FOO_SERVICE_PORT[_NAME], FOO_PORT=tcp://..., FOO_PORT_80_TCP[_PROTO|_PORT|_ADDR].
const SERVICE_LINK = /_SERVICE_(HOST|PORT(_\w+)?)$|_PORT_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?$/;
const SERVICE_LINK_PORT = /^(tcp|udp|sctp):\/\//;
// Other programs' variables that start like ours: every X11 desktop session (GNOME, KDE, Xfce)
// exports SESSION_MANAGER, so `npm start` from a terminal there warned at every start.
const OTHER_PROGRAMS = new Set(['SESSION_MANAGER']);
// Ours but no setting: the cluster primary gives it to each worker it forks, whatever the pod sets.
const NOT_SETTINGS = new Set([WORKERS_SERVE]);

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    previous = current;
  }
  return previous[b.length]!;
}

// Each word of `short` in `long`, in order: TLS_CA_FILE in TLS_CLIENT_CA_FILE, SHUTDOWN_DELAY in SHUTDOWN_DELAY_MS.
function wordsWithin(short: string, long: string): boolean {
  const words = long.split('_');
  let at = 0;
  for (const word of short.split('_')) {
    at = words.indexOf(word, at) + 1;
    if (at === 0) return false;
  }
  return true;
}

// One letter off (VIEWER_TOKENS_FILE, TRIGGER_ENABLED, STORE_URI), else words left out or added
// (SHUTDOWN_DELAY for SHUTDOWN_DELAY_MS, TLS_CA_FILE for TLS_CLIENT_CA_FILE, STORE_RETENTION_MS),
// the one sharing most words first, else two letters off. PORT and HOST share a word with every
// TLS_PORT-like name, and TLS_PORT is two letters from TLS_CERT: TLS_LISTEN_PORT was told PORT, and
// TLS_CERT TLS_PORT. A name for a file (_FILE, _PATH) is only told one of ours that reads a file:
// METRICS_TOKEN_PATH was told METRICS_TOKEN, which would make the path itself the token.
// One word in common is not enough: STORE_REDIS_PORT=6379 was told PORT, which moves the ingest port.
function closest(name: string): string | undefined {
  const wanted = name.replace(/_PATH$/, '_FILE');
  const candidates = wanted.endsWith('_FILE') ? KNOWN.filter((known) => known.endsWith('_FILE')) : KNOWN;
  const nearest = (max: number) => {
    let best: { known: string; score: number } | undefined;
    for (const known of candidates) {
      const score = distance(wanted, known);
      if (score <= max && (!best || score < best.score)) best = { known, score };
    }
    return best?.known;
  };
  const shared = (known: string) =>
    wordsWithin(wanted, known) || wordsWithin(known, wanted)
      ? Math.min(wanted.split('_').length, known.split('_').length)
      : 0;
  let byWords: { known: string; words: number } | undefined;
  for (const known of candidates) {
    const words = shared(known);
    if (words > 1 && (!byWords || words > byWords.words)) byWords = { known, words };
  }
  return nearest(1) ?? byWords?.known ?? nearest(2);
}

/**
 * Variables that start like this service's own (`VIEWER_`, `STORE_`, `TRIGGER_`, ...) but are none
 * of them: a misspelt name is otherwise ignored without a word, and its setting left at the default
 * (VIEWER_TOKENS_FILE left reading open). Kubernetes' Service links are not named.
 */
export function unknownVariables(env: Record<string, string | undefined>): UnknownVariable[] {
  const unknown: UnknownVariable[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || KNOWN.includes(name) || OTHER_PROGRAMS.has(name)) continue;
    if (NOT_SETTINGS.has(name)) {
      unknown.push({ variable: name });
      continue;
    }
    if (!PREFIXES.some((prefix) => name.startsWith(prefix))) continue;
    if (SERVICE_LINK.test(name) || (name.endsWith('_PORT') && SERVICE_LINK_PORT.test(value))) continue;
    const suggestion = closest(name);
    unknown.push(suggestion ? { variable: name, suggestion } : { variable: name });
  }
  return unknown;
}

// What is left open while each of these is unset: set but empty they count as unset (loadConfig),
// so VIEWER_TOKEN from a Secret key left empty opened reading without a word.
const OPEN_WHILE_UNSET: Record<string, string> = {
  VIEWER_TOKEN: 'reading stays open to anyone who reaches the port',
  METRICS_TOKEN: '/metrics stays open',
  INGEST_PATH_SECRET: 'alerts are taken at POST /alerts, without the path secret',
  TLS_CLIENT_CA_FILE: 'the TLS listener asks for no client certificate',
  INGEST_REQUIRE_CLIENT_CERT: 'alerts are taken without a client certificate',
};

/** A variable that leaves something open while unset, set empty (and its _FILE twin not set either). */
export function emptyVariables(
  env: Record<string, string | undefined>,
): Array<{ variable: string; open: string }> {
  const set = (name: string) => (env[name] ?? '').trim() !== '';
  const empty: Array<{ variable: string; open: string }> = [];
  for (const [name, open] of Object.entries(OPEN_WHILE_UNSET)) {
    const twins = name.endsWith('_FILE') ? [name] : [name, `${name}_FILE`];
    if (twins.some(set)) continue;
    for (const variable of twins) if (env[variable] !== undefined) empty.push({ variable, open });
  }
  return empty;
}
