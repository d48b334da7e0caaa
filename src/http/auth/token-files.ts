import { Counter, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import {
  readTokenFile,
  TOKEN_MIN_LENGTH,
  triggerTokenClash,
  type AuthConfig,
} from '../../config/auth-env.js';
import { fileVersions } from '../../config/file-versions.js';

/** The token lists in force: read at each request, replaced when their file changes. */
export interface CurrentTokens {
  viewer(): readonly string[];
  metrics(): readonly string[];
  /** Stops looking at the files. */
  stop(): void;
}

const LISTS = [
  { list: 'viewer', variable: 'VIEWER_TOKEN_FILE' },
  { list: 'metrics', variable: 'METRICS_TOKEN_FILE' },
] as const;

/**
 * Keeps VIEWER_TOKEN_FILE and METRICS_TOKEN_FILE current without a restart: every
 * `TOKEN_RELOAD_CHECK_MS` each file is looked at (a `stat`), and once it changed it is read and
 * checked as at start; its tokens then answer from the next request on, and a session opened with
 * a token no longer listed ends (credentials.ts). A file that would not start the receiver (empty,
 * a short token, the trigger token in it, unreadable) leaves the tokens as they were: a
 * `token_reload_failed` line and `falco_token_reloads_total{result="failed"}` once per version of
 * the file; a failed read is tried again at each check. Before this a token added to the Secret
 * for a rotation was refused until every pod restarted, and a leaked one removed from it kept
 * reading until then. The token values are never logged, only how many there are.
 */
export function watchTokenFiles(
  auth: Pick<AuthConfig, 'viewerTokens' | 'metricsTokens' | 'tokenFiles'>,
  options: { triggerToken: string; registry: Registry; logger?: Logger },
): CurrentTokens {
  const current = { viewer: auth.viewerTokens as readonly string[], metrics: auth.metricsTokens };
  const watched = LISTS.flatMap(({ list, variable }) => {
    const file = auth.tokenFiles[list];
    return file === undefined ? [] : [{ list, variable, file, served: fileVersions([file]) }];
  });
  const tokens = { viewer: () => current.viewer, metrics: () => current.metrics };
  if (watched.length === 0) return { ...tokens, stop: () => undefined };
  const reloads = new Counter({
    name: 'falco_token_reloads_total',
    help: 'Changes of VIEWER_TOKEN_FILE or METRICS_TOKEN_FILE read, or refused (the tokens in force stay).',
    labelNames: ['file', 'result'],
    registers: [options.registry],
  });
  for (const { variable } of watched) {
    reloads.inc({ file: variable, result: 'reloaded' }, 0);
    reloads.inc({ file: variable, result: 'failed' }, 0);
  }
  // The version of each file last refused, and whether it is read again at each check (a failed read).
  const failing = new Map<string, { versions: string; retry: boolean }>();
  const timer = setInterval(check, auth.tokenFiles.reloadCheckMs);
  timer.unref();

  function check(): void {
    for (const entry of watched) {
      const versions = fileVersions([entry.file]);
      const failed = failing.get(entry.variable);
      if (versions === entry.served) {
        failing.delete(entry.variable);
        continue;
      }
      if (failed?.versions === versions && !failed.retry) continue;
      const read = readTokenFile(entry.variable, entry.file, TOKEN_MIN_LENGTH);
      const problems = [...read.problems, ...triggerTokenClash(entry.list, read.lines, options.triggerToken)];
      if (problems.length === 0) {
        current[entry.list] = read.lines;
        entry.served = versions;
        failing.delete(entry.variable);
        reloads.inc({ file: entry.variable, result: 'reloaded' });
        options.logger?.info(
          { event: 'token_reloaded', file: entry.variable, tokens: read.lines.length },
          'Token file changed: its tokens answer from now on',
        );
        continue;
      }
      // A read that failed (EMFILE, EIO) may pass at the next check; a file that reads but is
      // refused is read again once it changes. Said once per version either way.
      const retry = read.unreadable === true;
      const said = failed?.versions === versions;
      failing.set(entry.variable, { versions, retry });
      if (said) continue;
      reloads.inc({ file: entry.variable, result: 'failed' });
      options.logger?.warn(
        { event: 'token_reload_failed', file: entry.variable, error: problems.join('; ') },
        'Token file changed but is refused: the tokens in force stay',
      );
    }
  }

  return { ...tokens, stop: () => clearInterval(timer) };
}
