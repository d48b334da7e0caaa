import { PRIORITIES, type Priority } from '../../alerts/priority.js';
import { startTurnClock, type TurnClock } from '../../alerts/turn-clock.js';
import type { AlertStore, ByteFill } from '../../alerts/alert-store.js';
import { cappedStart, FIELD_CAP } from '../../store/capped-text.js';
import { createTimeline, type AlertTimeline } from './alert-timeline.js';
import { countRules } from './count-rules.js';

/** The windows the dashboard charts offer, by name. */
export const SUMMARY_WINDOWS = { '15m': 15 * 60_000, '1h': 60 * 60_000, '24h': 24 * 60 * 60_000 } as const;

export type SummaryWindow = keyof typeof SUMMARY_WINDOWS;

/** The windows' names, shortest first. */
export const SUMMARY_WINDOW_NAMES = Object.keys(SUMMARY_WINDOWS) as [SummaryWindow, ...SummaryWindow[]];

// Interval of the alerts-over-time chart per window: 30, 60 and 48 bars.
const TIMELINE_STEPS: Record<SummaryWindow, number> = { '15m': 30_000, '1h': 60_000, '24h': 30 * 60_000 };

/** A rule and how many alerts of it the window holds. */
export interface RuleCount {
  /** The rule's name, or the first FIELD_CAP (1,024) UTF-16 units of a longer one. */
  rule: string;
  count: number;
  /** The name is longer than `rule`, which is its start (another long rule may start alike). */
  truncated?: true;
}

/** Counts over one window of recent alerts: per priority (every priority, most severe first) and top rules. */
export interface AlertSummary {
  window: SummaryWindow;
  /** Start of the window, ISO 8601 UTC (by receipt time). */
  since: string;
  /** When the counts were taken (ISO 8601 UTC): alerts received later are not in them. */
  asOf: string;
  total: number;
  byPriority: { priority: Priority; count: number }[];
  topRules: RuleCount[];
  /**
   * The highest count among the rules the top list left out (0 when it holds every rule): the page
   * knows from it that a rule it does not list cannot have reached the list yet.
   */
  unlistedMax: number;
  /** The same alerts per interval and priority, for the chart of alerts over time. */
  timeline: AlertTimeline;
  /**
   * How many more alerts the store takes before it evicts one counted here (it evicts the oldest
   * first, past STORE_MAX_ALERTS and, in memory, STORE_MAX_BYTES): the page adds live alerts to
   * these counts up to this many, and takes the counts again past it, as each new alert then takes
   * a counted one's place.
   */
  room: number;
}

/** How full the store was when the window was read. */
export interface StoreFill {
  /** Alerts it held, counted before the window was read. */
  held: number;
  /** STORE_MAX_ALERTS. */
  maxAlerts: number;
  /** From the window's start, for a store that also evicts by bytes. */
  bytes?: ByteFill;
}

const TOP_RULES = 10;

// Alerts the store takes before it evicts one counted: its free places, then the alerts held from
// before the window (they go first); by bytes, as many as fit if none is larger than the largest
// held, and none while it holds none to size them by.
function roomOf(fill: StoreFill, counted: number): number {
  const byCount = Math.max(0, fill.maxAlerts - fill.held) + Math.max(0, fill.held - counted);
  if (!fill.bytes) return byCount;
  const { free, largest } = fill.bytes;
  return largest === 0 ? 0 : Math.min(byCount, Math.floor(free / largest));
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

// Most frequent first, then by name as shown, a whole one before a cut one that shows the same: no
// localeCompare, whose cost on thousands of long rules of one count held the loop for hundreds of
// milliseconds. Two cut ones that show the same are alike in the answer, in either order. The page
// orders its rows the same way.
const ranksBefore = (a: RuleCount, b: RuleCount): boolean =>
  a.count !== b.count
    ? a.count > b.count
    : (byCodeUnit(a.rule, b.rule) || Number(a.truncated ?? 0) - Number(b.truncated ?? 0)) < 0;

// A rule longer than FIELD_CAP is shown by its start, as the shared store keeps it: 12 alerts of
// 1.79 MB rules made one answer of 17.9 MB. Counted per capped form all the same (one per name).
function rowOf(key: string, count: number): RuleCount {
  if (key.length <= FIELD_CAP) return { rule: key, count };
  return { rule: cappedStart(key), count, truncated: true };
}

// The `limit` highest-ranked rules, without sorting them all: each is compared with the last kept,
// and made a row only when it may rank before it (a count as high or higher). Every rule left out
// is either passed over or dropped from the end, so both give `unlistedMax`. Paced: a window may
// count STORE_MAX_ALERTS distinct rules.
async function pickTopRules(
  counts: Iterable<[string, number]>,
  limit: number,
  turn: TurnClock,
): Promise<{ top: RuleCount[]; unlistedMax: number }> {
  const top: RuleCount[] = [];
  let unlistedMax = 0;
  for (const [key, count] of counts) {
    if (turn.spent()) await turn.next();
    const last = top.length === limit ? top[limit - 1]! : undefined;
    if (last && count < last.count) {
      unlistedMax = Math.max(unlistedMax, count);
      continue;
    }
    const rule = rowOf(key, count);
    if (last) {
      if (!ranksBefore(rule, last)) {
        unlistedMax = Math.max(unlistedMax, count);
        continue;
      }
      unlistedMax = Math.max(unlistedMax, last.count);
      top.pop();
    }
    let at = top.length;
    while (at > 0 && ranksBefore(rule, top[at - 1]!)) at -= 1;
    top.splice(at, 0, rule);
  }
  return { top, unlistedMax };
}

/**
 * Summarises the alerts received in the window from `store`. Receipt time is used, not the alert's
 * own time, so a sensor with a wrong clock still shows up in "the last 15 minutes". Each alert is
 * counted as the store reads it (alert-store.ts, SummaryCount), a rule by a number in one of
 * several Maps (count-rules.ts), and the ranking is paced (turn-clock.ts): a window of 300,000
 * alerts of distinct rules, read whole and then counted into an object per rule, held the loop
 * 0.9 s for each viewer asking.
 */
export async function summarizeWindow(
  store: Pick<AlertStore, 'receivedSince'>,
  window: SummaryWindow,
  nowMs: number,
  fill: StoreFill,
): Promise<AlertSummary> {
  const sinceMs = nowMs - SUMMARY_WINDOWS[window];
  const byPriority = new Map<Priority, number>(PRIORITIES.map((p) => [p, 0]));
  const byRule = countRules(fill.held);
  const timeline = createTimeline(sinceMs, nowMs, TIMELINE_STEPS[window]);
  let read = 0;
  let total = 0;
  await store.receivedSince(sinceMs, (receivedAtMs, priority, rule) => {
    read += 1;
    if (receivedAtMs < sinceMs || receivedAtMs > nowMs) return;
    total += 1;
    byPriority.set(priority, (byPriority.get(priority) ?? 0) + 1);
    byRule.add(rule);
    timeline.add(receivedAtMs, priority);
  });
  const { top, unlistedMax } = await pickTopRules(byRule.entries(), TOP_RULES, startTurnClock());
  return {
    window,
    since: new Date(sinceMs).toISOString(),
    asOf: new Date(nowMs).toISOString(),
    total,
    byPriority: PRIORITIES.map((priority) => ({ priority, count: byPriority.get(priority) ?? 0 })),
    topRules: top,
    unlistedMax,
    timeline: timeline.result(),
    room: roomOf(fill, read),
  };
}
