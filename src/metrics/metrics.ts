import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ExactCounter, lengthPrefixed } from './exact-counter.js';
import { createReasonCounter } from './reason-counter.js';
import type { RejectReason } from '../alerts/parse-falco-alert.js';
import { REJECT_REASONS } from '../alerts/parse-falco-alert.js';
import type { StoredAlert } from '../alerts/stored-alert.js';
import type { ExtraLabel } from './extra-labels.js';
import { toLabelValue } from './extra-labels.js';
import { LabelCap } from './label-cap.js';
import { SeriesCap } from './series-cap.js';
import { PRIORITIES } from '../alerts/priority.js';

export interface MetricsOptions {
  maxRules: number;
  maxHostnames: number;
  maxSources: number;
  extraLabels: readonly ExtraLabel[];
  maxExtraLabelValues: number;
  /** Most series of `falco_alerts_total`, overflow series included. */
  maxSeries: number;
  /** Default process metrics (off in some tests to keep output small). */
  processMetrics?: boolean;
}

/** The service's metrics on a registry of its own (never prom-client's global one). */
export interface Metrics {
  registry: Registry;
  recordAlert(entry: StoredAlert): void;
  recordRejected(reason: RejectReason): void;
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  /** A connection closed at once for SERVER_MAX_CONNECTIONS_PER_ADDRESS. */
  recordRefusedConnection(): void;
  /** A request Node's HTTP parser refused before any route saw it (answered by answerClientErrors). */
  recordClientError(reason: ClientErrorReason): void;
}

/** Why Node's HTTP parser refused a request before any route saw it: a label value of the metric. */
export type ClientErrorReason = 'malformed' | 'header_too_large' | 'timeout';

/** One series' alerts in the current ingest turn, before its labels are capped. */
interface PendingSeries {
  rule: string;
  priority: string;
  /** Already capped: the delay histogram used it. */
  source: string;
  extras: string[];
  uses: number;
}

const NO_EXTRAS: string[] = [];
const DELAY_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];
const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });

  const overflow = new Counter({
    name: 'falco_metrics_label_overflow_total',
    help: 'Label values replaced by __overflow__ because a label reached its cap of distinct values.',
    labelNames: ['metric', 'label'],
    registers: [registry],
    collect: () => countPending(),
  });
  const cap = (metric: string, label: string, limit: number) =>
    new LabelCap(limit, (uses) => overflow.inc({ metric, label }, uses));

  const seriesOverflow = new Counter({
    name: 'falco_metrics_series_overflow_total',
    help: 'Observations counted under __overflow__ labels because the metric reached its cap of series (METRICS_MAX_SERIES).',
    labelNames: ['metric'],
    registers: [registry],
    collect: () => countPending(),
  });
  const extraNames = options.extraLabels.map((extra) => extra.label);
  // Its label values come from the alerts: series kept apart by their exact values (exact-counter.ts).
  const alerts = new ExactCounter({
    name: 'falco_alerts_total',
    help: 'Falco alerts accepted, by rule, priority and event source.',
    labelNames: ['rule', 'priority', 'source', ...extraNames],
    registers: [registry],
    collect: () => countPending(),
  });
  const rejected = new Counter({
    name: 'falco_alerts_rejected_total',
    help: 'Ingest requests refused, by reason.',
    labelNames: ['reason'],
    registers: [registry],
  });
  const delay = new Histogram({
    name: 'falco_alert_delivery_delay_seconds',
    help: "Receive time minus the alert's own time: Falco output backlog plus clock skew (negative skew counts as 0).",
    labelNames: ['source'],
    buckets: DELAY_BUCKETS,
    registers: [registry],
  });
  const lastAlert = new Gauge({
    name: 'falco_sensor_last_alert_timestamp_seconds',
    help: 'When the last alert from each Falco sensor (hostname) was received, as a Unix timestamp.',
    labelNames: ['hostname'],
    // Across cluster workers the newest receipt wins; a sum of timestamps would be meaningless.
    aggregator: 'max',
    registers: [registry],
    collect: () => countPending(),
  });
  const requests = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status code.',
    labelNames: ['method', 'route', 'status'],
    buckets: REQUEST_BUCKETS,
    registers: [registry],
  });
  const refusedConnections = new Counter({
    name: 'falco_http_connections_refused_total',
    help: 'Connections closed at once because their address held SERVER_MAX_CONNECTIONS_PER_ADDRESS open ones.',
    registers: [registry],
  });
  const clientErrors = createReasonCounter<ClientErrorReason>(
    registry,
    'falco_http_client_errors_total',
    'Requests refused by the HTTP parser before any route (400 malformed, 431 headers too large, 408 too slow).',
    ['malformed', 'header_too_large', 'timeout'],
  );
  for (const reason of REJECT_REASONS) rejected.inc({ reason }, 0);
  seriesOverflow.inc({ metric: 'falco_alerts_total' }, 0);

  const rules = cap('falco_alerts_total', 'rule', options.maxRules);
  const sources = cap('falco_alerts_total', 'source', options.maxSources);
  const hostnames = cap('falco_sensor_last_alert_timestamp_seconds', 'hostname', options.maxHostnames);
  const extraCaps = options.extraLabels.map((extra) => ({
    ...extra,
    cap: cap('falco_alerts_total', extra.label, options.maxExtraLabelValues),
  }));
  // Each label's cap bounds its values, not their product: this bounds the product.
  const alertSeries = new SeriesCap(options.maxSeries, { priority: PRIORITIES.length }, (uses) =>
    seriesOverflow.inc({ metric: 'falco_alerts_total' }, uses),
  );

  // Alerts are counted per series, not one by one: each alert adds one to its series' entry here,
  // and the entries reach prom-client at the end of the ingest turn (a microtask) or before any
  // read of these metrics (their collect). The label caps, the series cap and prom-client's label
  // hashing then run once per series per turn; the counts and overflow counts are the same.
  let pending = new Map<string, PendingSeries>();
  let pendingHosts = new Map<string, { lastMs: number; uses: number }>();
  let queued = false;
  const countPending = () => {
    queued = false;
    const series = pending;
    const hosts = pendingHosts;
    if (series.size === 0 && hosts.size === 0) return;
    // New maps, not clear(): V8 gives a cleared map of the old generation its new tables in the
    // old generation too, and a turn's entries then filled it: a full collection every ~2.7 s at
    // 19,500 alerts/s, and p99 at that even rate went 1.3-3.8 -> 6.4-11.8 ms (session 9).
    pending = new Map();
    pendingHosts = new Map();
    for (const { rule, priority, source, extras, uses } of series.values()) {
      const labels: Record<string, string> = { rule: rules.value(rule, uses), priority, source };
      extraCaps.forEach((extra, i) => (labels[extra.label] = extra.cap.value(extras[i]!, uses)));
      alerts.add(alertSeries.labels(labels, uses), uses);
    }
    for (const [hostname, { lastMs, uses }] of hosts)
      lastAlert.set({ hostname: hostnames.value(hostname, uses) }, lastMs / 1000);
  };

  return {
    registry,
    recordAlert(entry) {
      const { alert } = entry;
      // Per alert, as its delay is: the source label (and its overflow count) is the delay's too.
      const source = sources.value(entry.source);
      delay.observe({ source }, Math.max(0, (entry.receivedAtMs - entry.timeMs) / 1000));
      // One entry per distinct rule, priority, source and extras, whatever they hold: the priority
      // (a name) and the capped source hold no NUL, each extra goes after its length, and the rule
      // comes last. (Joined by NULs, a NUL in a rule or a field could end it early: two alerts in one.)
      let key: string;
      let extras = NO_EXTRAS;
      if (extraCaps.length > 0) {
        const fields = alert.output_fields;
        extras = extraCaps.map((extra) =>
          toLabelValue(fields && Object.hasOwn(fields, extra.field) ? fields[extra.field] : undefined),
        );
        key = `${alert.priority}\u0000${source}\u0000${lengthPrefixed(extras)}${alert.rule}`;
      } else key = `${alert.priority}\u0000${source}\u0000${alert.rule}`;
      const series = pending.get(key);
      if (series) series.uses++;
      else pending.set(key, { rule: alert.rule, priority: alert.priority, source, extras, uses: 1 });
      const hostname = alert.hostname ?? '';
      const host = pendingHosts.get(hostname);
      if (host) {
        host.uses++;
        host.lastMs = Math.max(host.lastMs, entry.receivedAtMs);
      } else pendingHosts.set(hostname, { lastMs: entry.receivedAtMs, uses: 1 });
      if (!queued) {
        queued = true;
        queueMicrotask(countPending);
      }
    },
    recordRejected(reason) {
      rejected.inc({ reason });
    },
    observeRequest(method, route, status, seconds) {
      requests.observe({ method, route, status: String(status) }, seconds);
    },
    recordClientError: (reason) => clientErrors.inc(reason),
    recordRefusedConnection() {
      refusedConnections.inc();
    },
  };
}
