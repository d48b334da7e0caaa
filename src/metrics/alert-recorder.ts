import type { RejectReason } from '../alerts/parse-falco-alert.js';
import {
  CLOCK_AHEAD_MAX_OBSERVED_SECONDS,
  clockAheadSeconds,
  DELIVERY_DELAY_MAX_OBSERVED_SECONDS,
  type StoredAlert,
} from '../alerts/stored-alert.js';
import type { AlertLabelCaps } from './alert-label-caps.js';
import type { AlertMetrics } from './alert-metrics.js';
import { deferHistogram } from './deferred-histogram.js';
import { lengthPrefixed } from './exact-counter.js';
import { toLabelValue } from './extra-labels.js';

/** Records the alerts the service accepts and the ingest requests it refuses. */
export interface AlertRecorder {
  recordAlert(entry: StoredAlert): void;
  recordRejected(reason: RejectReason): void;
}

/** One series' alerts since the last read of the metrics, before its labels are capped. */
interface PendingSeries {
  rule: string;
  priority: string;
  /** Already capped: the delay histogram used it. */
  source: string;
  extras: string[];
  uses: number;
}

const NO_EXTRAS: string[] = [];

/**
 * Distinct series, or hostnames, counted between two reads before they are handed to prom-client
 * anyway. 1,024 kept a map into the old generation: with 50,000 rule names, 4 MB more RSS.
 */
export const PENDING_MAX_ENTRIES = 256;
/** Characters of series keys and hostnames held the same way (one rule name can be most of a body). */
export const PENDING_MAX_CHARS = 1 << 20;

/**
 * The recorder of `metrics` under `caps`, and `countPending`, which hands the alerts counted since
 * the last read to prom-client at once: the collect of the alert metrics calls it.
 */
export function createAlertRecorder(
  metrics: AlertMetrics,
  caps: AlertLabelCaps,
): AlertRecorder & { countPending: () => void } {
  const { alerts, rejected, delay, clockAhead, lastAlert } = metrics;
  const { rules, sources, hostnames, extraCaps, alertSeries } = caps;

  // Alerts are counted per series, not one by one: each alert adds one to its series' entry here,
  // and the entries reach prom-client before any read of these metrics (their collect), or once
  // they hold PENDING_MAX_ENTRIES entries or PENDING_MAX_CHARS characters of keys (rule names and
  // hostnames come from the alerts). The label caps, the series cap and prom-client's label
  // hashing then run once per series per read; the counts and overflow counts are the same. They
  // ran at the end of each ingest turn before: with a connection per alert (Falco 0.34) a turn
  // holds one alert, and that flush was about a tenth of the service's CPU per alert.
  let pending = new Map<string, PendingSeries>();
  let pendingHosts = new Map<string, { lastMs: number; uses: number }>();
  let pendingChars = 0;
  // Capped sources hold no control characters: the key is the label value.
  const delays = deferHistogram(delay, (source) => ({ source }));
  // Capped sources: at most the source cap's values and __overflow__.
  const clockAheadSources = new Set<string>();
  const countPending = () => {
    delays.flush();
    const series = pending;
    const hosts = pendingHosts;
    if (series.size === 0 && hosts.size === 0) return;
    // New maps, not clear(): V8 gives a cleared map of the old generation its new tables in the
    // old generation too, and a turn's entries then filled it: a full collection every ~2.7 s at
    // 19,500 alerts/s, and p99 at that even rate went 1.3-3.8 -> 6.4-11.8 ms (session 9).
    pending = new Map();
    pendingHosts = new Map();
    pendingChars = 0;
    for (const { rule, priority, source, extras, uses } of series.values()) {
      const labels: Record<string, string> = { rule: rules.value(rule, uses), priority, source };
      extraCaps.forEach((extra, i) => (labels[extra.label] = extra.cap.value(extras[i]!, uses)));
      alerts.add(alertSeries.labels(labels, uses), uses);
    }
    // Several hostnames can share a label value (__overflow__, or cut to the same 200 bytes): each
    // value gets their latest delivery, not the last set of them in first-seen order.
    const latest = new Map<string, number>();
    for (const [hostname, { lastMs, uses }] of hosts) {
      const label = hostnames.value(hostname, uses);
      latest.set(label, Math.max(lastMs, latest.get(label) ?? lastMs));
    }
    for (const [hostname, lastMs] of latest) lastAlert.set({ hostname }, lastMs / 1000);
  };

  return {
    countPending,
    recordAlert(entry) {
      const { alert } = entry;
      // Per alert, as its delay is: the source label (and its overflow count) is the delay's too.
      const source = sources.value(entry.source);
      const delaySeconds = (entry.receivedAtMs - entry.timeMs) / 1000;
      delays.observe(source, Math.min(Math.max(0, delaySeconds), DELIVERY_DELAY_MAX_OBSERVED_SECONDS));
      // Each capped source's series starts at 0 before its first alert stamped ahead, so that
      // Prometheus' increase() sees that alert (a series whose first sample is 1 shows no increase).
      if (!clockAheadSources.has(source)) {
        clockAheadSources.add(source);
        clockAhead.zero({ source });
      }
      // Rare (a sensor whose clock runs ahead), so observed at once rather than deferred.
      const ahead = clockAheadSeconds(entry);
      if (ahead !== undefined)
        clockAhead.observe({ source }, Math.min(ahead, CLOCK_AHEAD_MAX_OBSERVED_SECONDS));
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
      else {
        pending.set(key, { rule: alert.rule, priority: alert.priority, source, extras, uses: 1 });
        pendingChars += key.length;
      }
      const hostname = alert.hostname ?? '';
      const host = pendingHosts.get(hostname);
      if (host) {
        host.uses++;
        host.lastMs = Math.max(host.lastMs, entry.receivedAtMs);
      } else {
        pendingHosts.set(hostname, { lastMs: entry.receivedAtMs, uses: 1 });
        pendingChars += hostname.length;
      }
      if (
        pending.size >= PENDING_MAX_ENTRIES ||
        pendingHosts.size >= PENDING_MAX_ENTRIES ||
        pendingChars >= PENDING_MAX_CHARS
      )
        countPending();
    },
    recordRejected(reason) {
      rejected.inc({ reason });
    },
  };
}
