import { constants } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import type https from 'node:https';
import tls, { type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { fileVersions } from '../config/file-versions.js';
import type { TlsConfig } from '../config/hardening-config.js';
import { ConfigurationProblems } from '../config/configuration-problems.js';
import { checkTlsFiles, type TlsFileContents } from '../config/tls-files.js';
import type { TlsReloadResult } from '../metrics/http-metrics.js';
import { NotValidYet } from './client-ca-validity.js';
import { markForReverify, mustReverify } from './client-reverify.js';
import { closeAfterAnswer } from './close-after-answer.js';
import { servedTls, type ClusterTls } from './cluster-tls-files.js';
import { nodeConnections } from './node-connections.js';

/** What the TLS listener's certificate and reloads are counted on (http-metrics.ts). */
export interface TlsCredentialMetrics {
  recordTlsCertificate(notAfterSeconds: number): void;
  /** The soonest notAfter of the client CA bundle (TLS_CLIENT_CA_FILE), at start and at each reload. */
  recordTlsClientCa(notAfterSeconds: number): void;
  recordTlsReload(result: TlsReloadResult): void;
  /** Whether the files on disk are a changed set that does not load (the listener serves older ones). */
  recordTlsReloadFailing(failing: boolean): void;
}

/**
 * The secure-context options of the TLS listener, at start and at each reload alike: Node's
 * setSecureContext takes minVersion and secureOptions anew, so one left out there fell back to the
 * default. TLS 1.2 renegotiation a client asks for is refused: each is a full handshake on a
 * connection already admitted, and Node let a client ask for three every ten minutes per connection
 * (four handshakes' CPU within one slot of the connection caps). Falco never renegotiates.
 */
function contextOptions(files: TlsFileContents): tls.SecureContextOptions {
  return {
    cert: files.cert,
    key: files.key,
    ...(files.ca ? { ca: files.ca } : {}),
    minVersion: 'TLSv1.2',
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
  };
}

const paths = (config: TlsConfig) => [config.certFile, config.keyFile, config.clientCaFile];

function readFiles(config: TlsConfig): TlsFileContents {
  const [cert, key, ca] = paths(config).map((file) => (file === undefined ? undefined : readFileSync(file)));
  return { cert: cert!, key: key!, ca };
}

/** The TLS listener's credentials from its files, and what keeps them current (reloadOnChange). */
export interface TlsCredentials {
  options: tls.SecureContextOptions;
  versions: string;
}

/** Where the TLS listener's files are counted and logged, and, with WORKERS > 1, said to the primary. */
export interface TlsCredentialOptions {
  logger?: Logger;
  metrics?: TlsCredentialMetrics;
  clusterTls?: ClusterTls;
}

/**
 * The certificate files as the listener starts with them (read before any listener is up, main.ts),
 * checked as a reload checks them (checkTlsFiles). Files TLS cannot use stop the start (exit 2,
 * main.ts): loadConfig checked them before anything started, and they are checked again as read
 * here, as a Secret updated in between would otherwise fail the listener in OpenSSL's words. Files a reload would refuse for their dates (a certificate expired or not valid
 * yet, a client CA bundle with no CA valid now) are served all the same: there is nothing older to
 * keep, and a listener that serves them still counts and logs each failed handshake, where a pod
 * that did not start would lose its plain port and /metrics (with the expiry gauge its alert reads)
 * as well, and Falco refuses such a certificate anyway. Said at start as `tls_files_not_valid`, once.
 *
 * With WORKERS > 1 a worker forked while others are up (one replaced) serves what they serve
 * (cluster-tls-files.ts): the files they serve, whatever their dates (a certificate expired in
 * place is served by them too), and other files only as their reload would take them. Files their
 * reload refuses, keeping older ones, it does not serve beside theirs: it exits before any of
 * its listeners is up (so node:cluster hands it no connection), and the primary forks it again, each time twice as late up to 30 s
 * (cluster-primary.ts), until the files on disk load or are the ones they serve.
 */
export function loadTlsCredentials(config: TlsConfig, options: TlsCredentialOptions = {}): TlsCredentials {
  // Looked at before they are read: a change in between is read again at the first check.
  const versions = fileVersions(paths(config));
  const files = readFiles(config);
  const served = servedTls(files);
  const others = options.clusterTls?.workersServe;
  const changed = others !== undefined && (others.cert !== served.cert || others.ca !== served.ca);
  // As the others' reload checks them: a client CA bundle they serve is not held to its dates.
  const theirCa = changed && others.ca === served.ca ? files.ca : undefined;
  const check = checkTlsFiles(files, Date.now(), theirCa);
  if (!check.usable) throw new ConfigurationProblems(check.problems);
  if (changed && check.problems.length > 0) {
    // Said as a log line: the primary's worker_start_failed names no reason, and stderr is no JSON.
    options.logger?.error(
      { event: 'tls_files_refused', problems: check.problems },
      'TLS files the workers up refuse at their reload (they serve older ones): not served beside theirs; this worker exits before listening and is started again until the files load',
    );
    throw new Error(`${check.problems.join('; ')}: files the workers up refuse at their reload`);
  }
  options.metrics?.recordTlsCertificate(check.certificate.notAfterSeconds);
  if (check.clientCa) options.metrics?.recordTlsClientCa(check.clientCa.notAfterSeconds);
  if (check.problems.length > 0)
    options.logger?.warn(
      { event: 'tls_files_not_valid', problems: check.problems },
      'the TLS listener starts with files no client can use now: every handshake fails until they are replaced (read again once changed)',
    );
  options.clusterTls?.report(served);
  return { options: contextOptions(files), versions };
}

/**
 * Once the client CA changed, the connections open then were verified against the previous one: a
 * client whose CA was taken out of the bundle (a CA rotated, or removed as compromised) went on
 * sending on its connection for as long as it kept it, and Falco 0.36+ keeps one for as long as it
 * sends at least every SERVER_KEEP_ALIVE_TIMEOUT_MS. Each of them is now answered with
 * `Connection: close` at its next request: that request is served, and the client's next connection
 * is verified against the new CA (a client it still trusts reconnects and loses nothing); an
 * answer that never ends by itself, a live stream, is ended now (client-reverify.ts). The
 * request listener is added at the first change only, so a listener whose CA never changes pays
 * nothing per request. Returns how many connections were open.
 */
function closeAfterNextAnswer(server: https.Server): number {
  let open = 0;
  for (const { socket } of nodeConnections(server)?.all() ?? []) {
    if (!socket) continue;
    markForReverify(socket);
    open++;
  }
  return open;
}

/** The secure context new connections of the listener get (Node's undocumented `_sharedCreds`). */
function servedContextOf(server: https.Server): object | undefined {
  return (server as unknown as { _sharedCreds?: object })._sharedCreds ?? undefined;
}

/** The secure context a server-side connection was made with (undocumented, as above). */
function secureContextOf(tlsSocket: TLSSocket): object | undefined {
  return (
    (tlsSocket as unknown as { ssl?: { _secureContext?: object } | null }).ssl?._secureContext ?? undefined
  );
}

/**
 * Serves renewed certificates without a restart: every `config.reloadCheckMs` the files are looked
 * at (stat only), and once any has changed all are read again and the listener's secure context
 * replaced; new handshakes get the new one, connections already open keep theirs (after a change
 * of the client CA they are told to reconnect, closeAfterNextAnswer). A set the start would
 * refuse too (checkTlsFiles: a key that is not the certificate's while a renewal is half written,
 * a certificate expired or not valid yet, a changed client CA bundle with no CA valid now or with
 * certificates OpenSSL does not read), or a file gone, leaves the listener as it was: a
 * `tls_reload_failed` line and `falco_tls_reloads_total{result="failed"}` once per version of the
 * files, and `falco_tls_reload_failing` 1 until files load. Such a set is read again once it changes,
 * a certificate or client CA not valid yet from its notBefore on (then served), and files whose read failed at
 * each check (a read error may pass). Before this a
 * renewal (cert-manager's, every two months by default) went unseen until the pod restarted, and
 * at the old certificate's expiry every sensor's handshake failed.
 */
export function reloadOnChange(
  server: https.Server,
  config: TlsConfig,
  loaded: TlsCredentials,
  options: TlsCredentialOptions,
): void {
  // The files the listener serves, and the last set that failed (said once; read again only once
  // it changes, from the notBefore of a certificate not valid yet, or at each check after a read
  // error: making a context with a bundle of 146 CAs blocks the event loop for 30-55 ms).
  let served = loaded.versions;
  let reported: string | undefined;
  let retryAtMs: number | undefined;
  let servedCa = loaded.options.ca as Buffer | undefined;
  let verifying = false;
  // Which change of the client CA each secure context served since the first has (see below).
  let caChanges = 0;
  const caChangesOf = new WeakMap<object, number>();
  const initialContext = servedContextOf(server);
  if (initialContext !== undefined) caChangesOf.set(initialContext, 0);
  const verifyAgain = () => {
    if (verifying) return;
    verifying = true;
    // As the request is handed over, before requireHost: a plain Connection: close let the
    // requests pipelined behind it be routed, acted on, and their answers never written.
    server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (mustReverify(req.socket)) closeAfterAnswer(res);
    });
    // A connection accepted before a change gets the context served then, and its handshake, done
    // after the change, verified it under the old CA: it is in no list closeAfterNextAnswer reads
    // (Node lists a connection once its handshake is done), and a client of a CA taken out that
    // kept a silent connection open at every moment kept alive past the change.
    server.on('secureConnection', (tlsSocket: TLSSocket) => {
      // Marked only when its context is known to be older than the last change: should Node's
      // fields ever go, nothing is tagged and nothing marked (as before this check), rather than
      // every connection told to close.
      const changesSeen = caChangesOf.get(secureContextOf(tlsSocket) ?? {});
      if (changesSeen !== undefined && changesSeen < caChanges) markForReverify(tlsSocket);
    });
  };
  const check = () => {
    const versions = fileVersions(paths(config));
    if (versions === served) {
      // Back to the files the listener serves (a symlink pointed at a bad set, then back): nothing
      // failing any more.
      if (reported !== undefined) options.metrics?.recordTlsReloadFailing(false);
      reported = undefined;
      return;
    }
    if (versions === reported && (retryAtMs === undefined || Date.now() < retryAtMs)) return;
    retryAtMs = undefined;
    let read = false;
    try {
      const files = readFiles(config);
      read = true;
      const caChanged = files.ca !== undefined && servedCa !== undefined && !files.ca.equals(servedCa);
      const verdict = checkTlsFiles(files, Date.now(), servedCa);
      if (!verdict.usable || verdict.problems.length > 0) {
        const reason = verdict.problems.join('; ');
        const fromMs = verdict.usable ? verdict.validFromMs : undefined;
        throw fromMs === undefined ? new Error(reason) : new NotValidYet(reason, fromMs);
      }
      const { certificate, clientCa: caValidity } = verdict;
      const next = contextOptions(files);
      // Made once more, as a whole: setSecureContext keeps half of a set it then fails to make.
      tls.createSecureContext(next);
      server.setSecureContext(next);
      served = versions;
      reported = undefined;
      servedCa = files.ca;
      if (caChanged) {
        caChanges++;
        verifyAgain();
      }
      const context = servedContextOf(server);
      if (context !== undefined) caChangesOf.set(context, caChanges);
      const clientCa = caChanged
        ? {
            clientCaChanged: true,
            connectionsToReverify: closeAfterNextAnswer(server),
          }
        : {};
      options.clusterTls?.report(servedTls(files));
      options.metrics?.recordTlsReload('reloaded');
      options.metrics?.recordTlsReloadFailing(false);
      options.metrics?.recordTlsCertificate(certificate.notAfterSeconds);
      if (caValidity) options.metrics?.recordTlsClientCa(caValidity.notAfterSeconds);
      options.logger?.info(
        {
          event: 'tls_reloaded',
          ...certificate,
          ...(caValidity ? { clientCaNotAfter: caValidity.notAfter } : {}),
          ...clientCa,
        },
        'TLS certificate files changed: new connections get them',
      );
    } catch (error) {
      if (error instanceof NotValidYet) retryAtMs = error.fromMs;
      // A read that failed (EMFILE under a connection flood, EIO) may pass at the next check, and
      // costs nothing to try again: read again at each check, or a renewal read at a bad moment was
      // never served and the old certificate served to its expiry.
      else if (!read) retryAtMs = 0;
      // Said once per version of the files; and not for files replaced while being read (a
      // Secret swapped in between): the next check reads the new ones.
      if (reported === versions || fileVersions(paths(config)) !== versions) return;
      reported = versions;
      options.metrics?.recordTlsReload('failed');
      options.metrics?.recordTlsReloadFailing(true);
      options.logger?.warn(
        { event: 'tls_reload_failed', error: (error as Error).message },
        'TLS certificate files changed but do not load: the listener keeps the ones it has',
      );
    }
  };
  const timer = setInterval(check, config.reloadCheckMs);
  timer.unref();
  server.once('close', () => clearInterval(timer));
}
