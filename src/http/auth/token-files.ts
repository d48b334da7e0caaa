import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import {
  readSessionKeys,
  readTokenFile,
  TOKEN_MIN_LENGTH,
  triggerTokenClash,
  type AuthConfig,
} from '../../config/auth-env.js';
import { fileVersions } from '../../config/file-versions.js';
import { readSecretFile } from '../../config/path-secret.js';
import { readTriggerTokenFile } from '../../config/triggers-env.js';

/** The tokens in force: read at each request, replaced when their file changes. */
export interface CurrentTokens {
  viewer(): readonly string[];
  metrics(): readonly string[];
  /** TRIGGER_TOKEN ('' with triggers off). */
  trigger(): string;
  /** The ingest path secrets (INGEST_PATH_SECRET or the lines of INGEST_PATH_SECRET_FILE; empty when off). */
  ingestPath(): readonly string[];
  /** The session keys, first signs (SESSION_SECRET or the lines of SESSION_SECRET_FILE; empty: a random one). */
  session(): readonly string[];
  /** Runs `listener` after each change read (a token may be gone: open answers are checked again). */
  onReload(listener: () => void): void;
  /** Stops looking at the files. */
  stop(): void;
}

type List = 'viewer' | 'metrics' | 'trigger' | 'ingestPath' | 'session';
const VARIABLES = {
  viewer: 'VIEWER_TOKEN_FILE',
  metrics: 'METRICS_TOKEN_FILE',
  trigger: 'TRIGGER_TOKEN_FILE',
  ingestPath: 'INGEST_PATH_SECRET_FILE',
  session: 'SESSION_SECRET_FILE',
};

const sameTokens = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((token, i) => token === b[i]);

/**
 * Keeps VIEWER_TOKEN_FILE, METRICS_TOKEN_FILE, TRIGGER_TOKEN_FILE, INGEST_PATH_SECRET_FILE and
 * SESSION_SECRET_FILE current without a restart:
 * every `TOKEN_RELOAD_CHECK_MS` each file is looked at (a `stat`), and once it changed it is read
 * and checked as at start; its tokens then answer from the next request on, and a session opened
 * with a token, or signed with a key, no longer there ends (credentials.ts). A file that would not
 * start the receiver (empty, a short token or key, more than SESSION_KEYS_MAX session keys, the
 * trigger token among the viewer or /metrics tokens, unreadable) leaves the tokens as they were: a
 * `token_reload_failed` line and `falco_token_reloads_total{result="failed"}` once per version of
 * the file; a failed read is tried again at each check. Before this a token added to the Secret for a rotation was refused until
 * every pod restarted, and a leaked one removed from it kept working until then; and a new ingest
 * path secret refused every sensor given it, or given the old one, until both sides restarted; and a
 * new session key signed everyone out at the restart it took, and pods restarted at different
 * times refused each other's cookies. The values are never logged, only how many there are.
 */
export function watchTokenFiles(
  auth: Pick<AuthConfig, 'viewerTokens' | 'metricsTokens' | 'sessionSecrets' | 'tokenFiles'>,
  options: {
    triggerToken: string;
    triggerTokenFile?: string;
    ingestPathSecrets?: readonly string[];
    ingestPathSecretFile?: string;
    registry: Registry;
    logger?: Logger;
  },
): CurrentTokens {
  const current: Record<List, readonly string[]> = {
    viewer: auth.viewerTokens,
    metrics: auth.metricsTokens,
    trigger: [options.triggerToken],
    ingestPath: options.ingestPathSecrets ?? [],
    session: auth.sessionSecrets,
  };
  const files: Record<List, string | undefined> = {
    viewer: auth.tokenFiles.viewer,
    metrics: auth.tokenFiles.metrics,
    trigger: options.triggerTokenFile,
    ingestPath: options.ingestPathSecretFile,
    session: auth.tokenFiles.session,
  };
  // The version in force is not known at first: loadConfig read the file before this looked at it,
  // and a Secret swapped in between would have been taken for the one read. The first check reads it.
  const watched = (['viewer', 'metrics', 'trigger', 'ingestPath', 'session'] as const).flatMap((list) => {
    const file = files[list];
    return file === undefined ? [] : [{ list, variable: VARIABLES[list], file, served: '' }];
  });
  const tokens = {
    viewer: () => current.viewer,
    metrics: () => current.metrics,
    trigger: () => current.trigger[0] ?? '',
    ingestPath: () => current.ingestPath,
    session: () => current.session,
  };
  if (watched.length === 0) return { ...tokens, onReload: () => undefined, stop: () => undefined };
  const listeners: (() => void)[] = [];
  const reloads = new Counter({
    name: 'falco_token_reloads_total',
    help: 'Changes of a token or secret file (VIEWER_TOKEN_FILE, METRICS_TOKEN_FILE, TRIGGER_TOKEN_FILE, INGEST_PATH_SECRET_FILE, SESSION_SECRET_FILE) read, or refused (the ones in force stay), by each process: with WORKERS > 1 each worker reads a change and counts it.',
    labelNames: ['file', 'result'],
    // Summed over the workers, as each does the reading: taken by their max, the primary's kept
    // counts of departed workers (retired-counts.ts) stood above a respawned worker's, which counts
    // from 0, and the pod's counter stopped while files changed.
    registers: [options.registry],
  });
  // A state, not a count: a revoked token still works while the file that removes it is refused.
  const refusing = new Gauge({
    name: 'falco_token_reload_failing',
    help: 'Whether a token or secret file changed to something refused (1): the ones in force before stay, a removed token among them.',
    labelNames: ['file'],
    // With WORKERS > 1: a worker still holding a removed token is one that still lets it in.
    aggregator: 'max',
    registers: [options.registry],
  });
  for (const { variable } of watched) {
    reloads.inc({ file: variable, result: 'reloaded' }, 0);
    reloads.inc({ file: variable, result: 'failed' }, 0);
    refusing.set({ file: variable }, 0);
  }
  // The tokens a file holds, and whatever refuses them, against the other lists in force now.
  const read = (list: List, file: string): { lines: string[]; problems: string[] } => {
    if (list === 'ingestPath') {
      const secrets = readSecretFile(file);
      return 'secrets' in secrets
        ? { lines: secrets.secrets, problems: [] }
        : { lines: [], problems: [secrets.problem] };
    }
    if (list === 'session') return readSessionKeys(file);
    if (list !== 'trigger') {
      const lines = readTokenFile(VARIABLES[list], file, TOKEN_MIN_LENGTH);
      return {
        ...lines,
        problems: [...lines.problems, ...triggerTokenClash(list, lines.lines, tokens.trigger())],
      };
    }
    const token = readTriggerTokenFile(file);
    if (token.token === undefined) return { lines: [], problems: token.problems };
    const clashes = [
      ...triggerTokenClash('viewer', current.viewer, token.token),
      ...triggerTokenClash('metrics', current.metrics, token.token),
    ];
    return { lines: [token.token], problems: clashes };
  };
  // The version of each file last refused (said once). A refused file is read again at each check:
  // a read that failed (EMFILE, EIO) may pass, and a refusal for the trigger token in the viewer
  // file ends when the other file changes (both changed at once, read in either order). A token
  // file is a few hundred bytes.
  const failing = new Map<List, string>();
  const check = () => {
    for (const entry of watched) {
      const versions = fileVersions([entry.file]);
      const failed = failing.get(entry.list);
      if (versions === entry.served) {
        // Back to the file in force (a Secret reverted): nothing refused any more.
        failing.delete(entry.list);
        refusing.set({ file: entry.variable }, 0);
        continue;
      }
      const next = read(entry.list, entry.file);
      if (next.problems.length === 0) {
        // At the first check, the tokens read at start: nothing changed (a refusal since ends).
        const asAtStart = entry.served === '' && sameTokens(next.lines, current[entry.list]);
        current[entry.list] = next.lines;
        entry.served = versions;
        failing.delete(entry.list);
        refusing.set({ file: entry.variable }, 0);
        if (asAtStart) continue;
        reloads.inc({ file: entry.variable, result: 'reloaded' });
        options.logger?.info(
          { event: 'token_reloaded', file: entry.variable, tokens: next.lines.length },
          'Token file changed: its tokens answer from now on',
        );
        for (const listener of listeners) listener();
        continue;
      }
      failing.set(entry.list, versions);
      refusing.set({ file: entry.variable }, 1);
      if (failed === versions) continue;
      reloads.inc({ file: entry.variable, result: 'failed' });
      options.logger?.warn(
        { event: 'token_reload_failed', file: entry.variable, error: next.problems.join('; ') },
        'Token file changed but is refused: the tokens in force stay',
      );
    }
  };
  const timer = setInterval(check, auth.tokenFiles.reloadCheckMs);
  timer.unref();
  return {
    ...tokens,
    onReload: (listener) => void listeners.push(listener),
    stop: () => clearInterval(timer),
  };
}
