import { authEnvProblems } from './auth-env.js';
import { workerCount } from './cluster-env.js';
import type { EnvView } from './env-view.js';
import { hardeningEnvProblems } from './hardening-env.js';
import type { Env } from './schema.js';
import { sharesStore, storeEnvProblems } from './store-env.js';
import { triggersEnvProblems } from './triggers-env.js';
import { triggerTokenClashes, type TokenFilesHeld } from './trigger-token-clashes.js';

/** What the files named were found to hold, where a check between variables depends on it. */
export interface FilesHeld {
  /** The store's password files were read, and agree with STORE_URL. */
  storeCredentials: boolean;
  /** VIEWER_TOKEN_FILE holds a line. */
  viewerTokens: boolean;
  /** SESSION_SECRET_FILE holds a line. */
  sessionKeys: boolean;
  /** The tokens read at start: where a list or the trigger token comes from a file, what it holds. */
  tokens: TokenFilesHeld;
}

/**
 * Before the start no file is read: each is taken as holding what it should, and a token file's
 * tokens are not known. One that does not is refused at start all the same, by the check of the file.
 */
const FILES_AS_NAMED: FilesHeld = {
  storeCredentials: true,
  viewerTokens: true,
  sessionKeys: true,
  tokens: {},
};

/**
 * The problems between variables that the receiver refuses to start with (exit 2): by loadConfig
 * at start, and by `npm run deploy` in the rendered manifests, where a value from a Secret or the
 * downward API is not known and only what none could clear is said.
 */
export function combinationProblems(view: EnvView<Env>, held: FilesHeld = FILES_AS_NAMED): string[] {
  const { env, knows } = view;
  const store = storeEnvProblems(view);
  const problems = [...triggersEnvProblems(view), ...store];
  // A store refused is none: each process keeps its own.
  const sharedStore = store.length === 0 && held.storeCredentials ? sharesStore(view) : false;
  const workers = knows('WORKERS') ? workerCount(env.WORKERS, view.cpus) : undefined;
  // Without Redis each worker sees only the alerts it received, so a worker's trigger could never verify.
  const split = workers !== undefined && workers > 1 && sharedStore === false;
  if (knows('TRIGGERS_ENABLED') && env.TRIGGERS_ENABLED && split) {
    // It names the store variables, so loadConfig drops it when one of them was refused.
    problems.push(
      "TRIGGERS_ENABLED: triggers need WORKERS=1 or a Redis store, STORE_URL or STORE_SENTINELS (verification reads one process's alerts)",
    );
  }
  if (
    knows('INGEST_MAX_INFLIGHT_BYTES', 'BODY_LIMIT_BYTES') &&
    env.INGEST_MAX_INFLIGHT_BYTES < env.BODY_LIMIT_BYTES
  ) {
    problems.push('INGEST_MAX_INFLIGHT_BYTES: must be at least BODY_LIMIT_BYTES (one body must fit)');
  }
  // Two listeners on one port: the second's listen failed with a bare EADDRINUSE (exit 1), and with
  // WORKERS > 1 every worker died of a TypeError inside node:cluster's TLS handover.
  for (const other of ['PORT', 'ADMIN_PORT'] as const)
    if (
      knows('TLS_PORT', other) &&
      env.TLS_PORT !== undefined &&
      env.TLS_PORT !== 0 &&
      env.TLS_PORT === env[other]
    )
      problems.push(`TLS_PORT: must differ from ${other}`);
  problems.push(
    ...hardeningEnvProblems(view),
    ...authEnvProblems(view, { workers, sharedStore, held }),
    ...triggerTokenClashes(view, held.tokens),
  );
  return problems;
}
