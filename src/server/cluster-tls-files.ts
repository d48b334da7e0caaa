import cluster, { type Worker } from 'node:cluster';
import { createHash } from 'node:crypto';
import type { TlsFileContents } from '../config/tls-files.js';
import { onWorkerMessage } from './cluster-message.js';

const SERVED = 'falco-receiver:tls-served';
/**
 * How the primary hands a worker it forks what the workers up serve: in its environment, which is
 * there before the worker reads its files (a message might come after). Not a setting: the primary
 * sets it at every fork, so a value in the pod's environment is never read (and is warned of,
 * ignored-variables.ts).
 */
export const WORKERS_SERVE = 'FALCO_RECEIVER_WORKERS_SERVE_TLS';

/** TLS files a worker serves, as the sha256 of TLS_CERT_FILE (its chain with it) and of TLS_CLIENT_CA_FILE. */
export interface ServedTls {
  cert: string;
  ca?: string;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * What the primary is told of files a worker serves. The key is left out: it is the certificate's
 * (checkTlsFiles), and no digest of it need leave the worker.
 */
export function servedTls(files: TlsFileContents): ServedTls {
  return { cert: sha256(files.cert), ...(files.ca ? { ca: sha256(files.ca) } : {}) };
}

/** WORKERS > 1, worker side: what the workers up served when this one was forked, and how it says what it serves. */
export interface ClusterTls {
  /** Undefined at the first start, and when no worker was up (none to serve the same as). */
  workersServe?: ServedTls;
  /** Tells the primary the files this worker serves now: at start, and at each reload that loads. */
  report(served: ServedTls): void;
}

/** The worker's side, from the environment the primary forked it with (rememberServedTls). */
export function clusterTls(env: NodeJS.ProcessEnv): ClusterTls {
  const [cert, ca] = (env[WORKERS_SERVE] ?? '').split(' ');
  return {
    ...(cert ? { workersServe: { cert, ...(ca ? { ca } : {}) } } : {}),
    report: (served) => process.send?.({ type: SERVED, served }),
  };
}

/**
 * Primary side: remembers what each worker up last said it serves, and returns the environment a
 * worker is forked with (cluster-primary.ts), so that a replacement serves what the others do
 * (loadTlsCredentials). Workers disagree for up to TLS_RELOAD_CHECK_MS after a change, each
 * reloading on its own timer (longer only if the files changed again in between): the rule is that
 * the replacement is given the last files reported, the newest a worker up loaded, which the others
 * load at their next check. A worker gone is forgotten: once none is up, a replacement starts as
 * the first did, with what the files on disk hold, so that the pod does not lose its plain port and
 * /metrics for files no worker serves any more.
 */
export function rememberServedTls(): () => Record<string, string> {
  // Re-inserted at each report, so the Map's last entry is the latest report.
  const served = new Map<number, ServedTls>();
  // Not from a worker that has exited: its report would outlast the 'exit' handler below.
  onWorkerMessage<{ type: typeof SERVED; served: ServedTls }>(SERVED, (worker, message) => {
    served.delete(worker.id);
    served.set(worker.id, message.served);
  });
  cluster.on('exit', (worker: Worker) => served.delete(worker.id));
  return () => {
    const latest = [...served.values()].at(-1);
    return { [WORKERS_SERVE]: latest ? `${latest.cert} ${latest.ca ?? ''}`.trimEnd() : '' };
  };
}
