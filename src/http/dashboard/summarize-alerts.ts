import { PRIORITIES, type Priority } from '../../alerts/priority.js';
import type { SummaryEntry } from '../../alerts/alert-store.js';
import { createTimeline, type AlertTimeline } from './alert-timeline.js';

/** The windows the dashboard charts offer, by name. */
export const SUMMARY_WINDOWS = { '15m': 15 * 60_000, '1h': 60 * 60_000, '24h': 24 * 60 * 60_000 } as const;

export type SummaryWindow = keyof typeof SUMMARY_WINDOWS;

// Interval of the alerts-over-time chart per window: 30, 60 and 48 bars.
const TIMELINE_STEPS: Record<SummaryWindow, number> = { '15m': 30_000, '1h': 60_000, '24h': 30 * 60_000 };

/** Counts over one window of recent alerts: per priority (every priority, most severe first) and top rules. */
export interface AlertSummary {
  window: SummaryWindow;
  /** Start of the window, ISO 8601 UTC (by receipt time). */
  since: string;
  /** When the counts were taken (ISO 8601 UTC): alerts received later are not in them. */
  asOf: string;
  total: number;
  byPriority: { priority: Priority; count: number }[];
  topRules: { rule: string; count: number }[];
  /** The same alerts per interval and priority, for the chart of alerts over time. */
  timeline: AlertTimeline;
}

const TOP_RULES = 10;

/**
 * Summarises the alerts received in the window. Receipt time is used, not the alert's own time, so
 * a sensor with a wrong clock still shows up in "the last 15 minutes".
 */
export function summarizeAlerts(
  entries: Iterable<SummaryEntry>,
  window: SummaryWindow,
  nowMs: number,
): AlertSummary {
  const sinceMs = nowMs - SUMMARY_WINDOWS[window];
  const byPriority = new Map<Priority, number>(PRIORITIES.map((p) => [p, 0]));
  const byRule = new Map<string, number>();
  const timeline = createTimeline(sinceMs, nowMs, TIMELINE_STEPS[window]);
  let total = 0;
  for (const entry of entries) {
    if (entry.receivedAtMs < sinceMs || entry.receivedAtMs > nowMs) continue;
    total += 1;
    const { priority, rule } = entry;
    byPriority.set(priority, (byPriority.get(priority) ?? 0) + 1);
    byRule.set(rule, (byRule.get(rule) ?? 0) + 1);
    timeline.add(entry.receivedAtMs, priority);
  }
  const topRules = [...byRule]
    .map(([rule, count]) => ({ rule, count }))
    .sort((a, b) => b.count - a.count || a.rule.localeCompare(b.rule))
    .slice(0, TOP_RULES);
  return {
    window,
    since: new Date(sinceMs).toISOString(),
    asOf: new Date(nowMs).toISOString(),
    total,
    byPriority: PRIORITIES.map((priority) => ({ priority, count: byPriority.get(priority) ?? 0 })),
    topRules,
    timeline: timeline.result(),
  };
}
