import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { deferHistogram, type DeferredHistogram } from './deferred-histogram.js';
import { createReasonCounter } from './reason-counter.js';

/** Why Node's HTTP parser refused a request before any route saw it: a label value of the metric. */
export type ClientErrorReason = 'malformed' | 'header_too_large' | 'timeout';

/**
 * Why a client failed the TLS listener's handshake: `client_cert`, its certificate missing or not
 * verified by TLS_CLIENT_CA_FILE (another CA, expired, not yet valid); `server_cert`, the client
 * refused the receiver's certificate (a Falco whose `ca_cert` does not hold the CA that signed
 * TLS_CERT_FILE, or that certificate expired); `handshake`, any other failure (plain HTTP sent to
 * the TLS port, a TLS version or cipher not offered, a handshake begun and not finished in time).
 */
export type TlsHandshakeFailureReason = 'client_cert' | 'server_cert' | 'handshake';

/** A reload of the TLS listener's certificate files once they changed (tls-credentials.ts). */
export type TlsReloadResult = 'reloaded' | 'failed';

/**
 * Why the connection caps closed a connection: `max_connections_per_address` and `max_connections`,
 * a new one refused before anything of it was read (its address, or its listener, held
 * SERVER_MAX_CONNECTIONS_PER_ADDRESS or SERVER_MAX_CONNECTIONS); `slow_headers`, an open one whose
 * request headers (or, on TLS, its handshake) were still arriving after SLOW_HEADERS_MS, closed at
 * SERVER_MAX_CONNECTIONS to make room (a slowloris; a sensor's request comes in one write);
 * `lingering`, one lingering after its answer (linger-close.ts), closed at either cap to let a
 * newcomer in (nothing left to deliver but an answer its client may not have read yet);
 * `pipelined_requests`, one whose request read behind another's answer would have passed the bounds
 * of those held (limit-pipelining.ts: a client pipelining without reading its answers).
 */
export type ConnectionRefusalReason =
  'max_connections_per_address' | 'max_connections' | 'slow_headers' | 'lingering' | 'pipelined_requests';

export const CONNECTION_REFUSAL_REASONS: readonly ConnectionRefusalReason[] = [
  'max_connections_per_address',
  'max_connections',
  'slow_headers',
  'lingering',
  'pipelined_requests',
];

export const TLS_HANDSHAKE_FAILURE_REASONS: readonly TlsHandshakeFailureReason[] = [
  'client_cert',
  'server_cert',
  'handshake',
];

/** Records the HTTP server's requests, refused connections and parser refusals. */
export interface HttpMetrics {
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  /** A connection the connection caps closed (connections-per-address.ts, limit-pipelining.ts). */
  recordRefusedConnection(reason: ConnectionRefusalReason): void;
  /** A request Node's HTTP parser refused before any route saw it (answered by answerClientErrors). */
  recordClientError(reason: ClientErrorReason): void;
  /** A connection that failed the TLS listener's handshake (tls-handshake-failures.ts). */
  recordTlsHandshakeFailure(reason: TlsHandshakeFailureReason): void;
  /** The TLS listener's certificate, at start and at each reload: when it expires. */
  recordTlsCertificate(notAfterSeconds: number): void;
  /** The client CA bundle (TLS_CLIENT_CA_FILE), at start and at each reload: when its soonest CA expires. */
  recordTlsClientCa(notAfterSeconds: number): void;
  /** Changed certificate files loaded, or refused (the listener keeps the ones it has, until files load). */
  recordTlsReload(result: TlsReloadResult): void;
  /** 1 while changed certificate files do not load, 0 once they do or the served ones are back. */
  recordTlsReloadFailing(failing: boolean): void;
  /** A connection whose reading was paused for pipelining past the depth (limit-pipelining.ts), once. */
  recordPausedConnection(): void;
}

const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

// OpenTelemetry's known HTTP methods (RFC 9110 and PATCH); any other is `_OTHER`, as its semantic
// conventions say. Node's parser takes 35 methods, and each one answered 404 or 405 on every route
// was a series of 15 lines: 289 label sets, 418 KB of /metrics.
const KNOWN_METHODS = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'TRACE',
]);
const methodLabel = (method: string) => (KNOWN_METHODS.has(method) ? method : '_OTHER');

/** Registers the HTTP server's metrics on `registry`, in the order /metrics lists them. */
export function registerHttpMetrics(registry: Registry): HttpMetrics {
  const requests: Histogram<'method' | 'route' | 'status'> = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status code.',
    labelNames: ['method', 'route', 'status'],
    buckets: REQUEST_BUCKETS,
    registers: [registry],
    collect: (): void => durations.flush(),
  });
  // Methods (Node's parser knows a fixed list), route patterns and status codes hold no NUL.
  const durations: DeferredHistogram = deferHistogram(requests, (key) => {
    const [method, route, status] = key.split('\u0000');
    return { method, route, status };
  });
  const refusedConnections = createReasonCounter<ConnectionRefusalReason>(
    registry,
    'falco_http_connections_refused_total',
    'Connections closed by the connection caps: max_connections_per_address and max_connections (a new connection refused before anything was read, its address or its listener at SERVER_MAX_CONNECTIONS_PER_ADDRESS or SERVER_MAX_CONNECTIONS), slow_headers (a connection whose request headers, or TLS handshake, were still arriving after 1 s, closed at SERVER_MAX_CONNECTIONS to make room), lingering (a connection lingering up to 2 s after its answer, closed at either cap to let a new one in), pipelined_requests (a connection closed when a request it pipelined behind another answer would have made those held, routed or waiting, more than 8192, or 2048 from its address).',
    CONNECTION_REFUSAL_REASONS,
  );
  const clientErrors = createReasonCounter<ClientErrorReason>(
    registry,
    'falco_http_client_errors_total',
    'Requests refused by the HTTP parser before any route (400 malformed, or 417 for an Expect other than 100-continue; 431 headers too large; 408 too slow).',
    ['malformed', 'header_too_large', 'timeout'],
  );
  const tlsFailures = createReasonCounter<TlsHandshakeFailureReason>(
    registry,
    'falco_tls_handshake_failures_total',
    "Connections that failed the TLS listener's handshake: client_cert (a client certificate missing or not verified by TLS_CLIENT_CA_FILE), server_cert (the client refused the receiver's certificate), handshake (any other failure, such as plain HTTP sent to the TLS port).",
    TLS_HANDSHAKE_FAILURE_REASONS,
  );

  const pausedConnections = new Counter({
    name: 'falco_http_connections_paused_total',
    help: 'Connections that pipelined more requests than are routed at once (32): their later requests were read only as answers were written. Counted once per connection.',
    registers: [registry],
  });

  // Made with the TLS listener: without one, no expiry of 0 (the Unix epoch) to alert on.
  let tlsCertificate: { expiry: Gauge; reloads: Counter<'result'>; failing: Gauge } | undefined;
  const tlsCertificateMetrics = () =>
    (tlsCertificate ??= {
      expiry: new Gauge({
        name: 'falco_tls_certificate_expiry_timestamp_seconds',
        help: "When the TLS listener's certificate (TLS_CERT_FILE, the first of the file) expires, as a Unix timestamp; exported once TLS_PORT is on, updated at each reload.",
        // Every cluster worker reads the same files; the soonest is the one to renew by.
        aggregator: 'min',
        registers: [registry],
      }),
      reloads: new Counter({
        name: 'falco_tls_reloads_total',
        help: "Changes of the TLS listener's certificate files (TLS_CERT_FILE, TLS_KEY_FILE, TLS_CLIENT_CA_FILE) seen by each process (with WORKERS > 1 each worker loads a change and counts it): reloaded (new connections get them), failed (they do not load together, such as a key that is not the certificate's: the listener keeps the ones it had).",
        labelNames: ['result'],
        registers: [registry],
      }),
      failing: new Gauge({
        name: 'falco_tls_reload_failing',
        help: "1 while the TLS listener's certificate files changed and do not load (the listener serves older ones; see tls_reload_failed), 0 while the files are the ones it serves.",
        // A worker that has not loaded them is one that serves the old certificate.
        aggregator: 'max',
        registers: [registry],
      }),
    });

  // Made with a client CA only, as above.
  let tlsClientCaExpiry: Gauge | undefined;
  const tlsClientCaMetric = () =>
    (tlsClientCaExpiry ??= new Gauge({
      name: 'falco_tls_client_ca_expiry_timestamp_seconds',
      help: "When the soonest-expiring CA of the TLS listener's client CA bundle (TLS_CLIENT_CA_FILE) expires, as a Unix timestamp: from then on the client certificates it signed fail the handshake. During a CA rotation the old CA is the one shown until it is taken out of the bundle. Exported with TLS_CLIENT_CA_FILE, updated at each reload.",
      aggregator: 'min',
      registers: [registry],
    }));

  return {
    observeRequest(method, route, status, seconds) {
      durations.observe(`${methodLabel(method)}\u0000${route}\u0000${status}`, seconds);
    },
    recordClientError: (reason) => clientErrors.inc(reason),
    recordTlsHandshakeFailure: (reason) => tlsFailures.inc(reason),
    recordRefusedConnection: (reason) => refusedConnections.inc(reason),
    recordTlsCertificate(notAfterSeconds) {
      const { expiry, reloads, failing } = tlsCertificateMetrics();
      expiry.set(notAfterSeconds);
      for (const result of ['reloaded', 'failed'] as const) reloads.inc({ result }, 0);
      failing.inc(0);
    },
    recordTlsClientCa(notAfterSeconds) {
      tlsClientCaMetric().set(notAfterSeconds);
    },
    recordTlsReload(result) {
      tlsCertificateMetrics().reloads.inc({ result });
    },
    recordTlsReloadFailing(failing) {
      tlsCertificateMetrics().failing.set(failing ? 1 : 0);
    },
    recordPausedConnection() {
      pausedConnections.inc();
    },
  };
}
