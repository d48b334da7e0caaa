// @ts-check
// The Overview's numbers: the last GET /ui/summary plus every live alert received after it, so the
// counts, top rules and chart move with the stream instead of waiting for the next poll. Once the
// store is full each new alert evicts an older one, whose rule and priority the page never saw: the
// model then stops adding (`stale`), and the panel takes the counts again. So it does when a rule
// outside a full top list may now rank in it: the page never had its count, only the server's
// `unlistedMax` bounds it, so only a rule whose bound plus its live alerts reaches the last listed
// one makes it stale (without that bound, any such rule does). A rule longer than the server shows
// whole also does: its row holds the name's start only, which another long rule may share.

/** @typedef {import('./alert-fields.js').AlertItem} AlertItem */
/**
 * @typedef {{ startMs: number, stepMs: number, byPriority: { priority: string, counts: number[] }[] }} Timeline
 * @typedef {{ rule: string, count: number, truncated?: true }} RuleRow `truncated`: `rule` is the start of a longer name
 * @typedef {{ window: string, since: string, asOf: string, total: number,
 *   byPriority: { priority: string, count: number }[], topRules: RuleRow[],
 *   timeline: Timeline, room?: number, unlistedMax?: number }} Summary
 */

// As many as the server sends: a shorter list holds every rule of the window.
const TOP_RULES = 10;
// Ids of live alerts already counted, so a replay after a reconnect is not counted twice. A replay
// brings the alerts after the last one received, so the newest ids are the ones worth keeping.
const MAX_SEEN = 5000;
// Rules outside the top list whose live alerts are counted; past this many the model is stale.
const MAX_UNLISTED = 1000;
// A longer rule the server shows by its first 1,024 UTF-16 units (FIELD_CAP, src/store/capped-text.ts).
const WHOLE_RULE_MAX = 1024;

/**
 * The server's order of the top rules (summarize-alerts.ts): most frequent first, then by name as
 * shown (UTF-16 code units), a whole one before a cut one that shows the same.
 * @param {RuleRow} a
 * @param {RuleRow} b
 */
const byRank = (a, b) =>
  b.count - a.count ||
  (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : Number(a.truncated ?? 0) - Number(b.truncated ?? 0));

/**
 * The top rules chart's bars: a cut name ends in an ellipsis, and its title says it is cut.
 * @param {RuleRow[]} topRules
 * @returns {{ label: string, value: number, className: string, title?: string }[]}
 */
export function ruleBars(topRules) {
  return topRules.map(({ rule, count, truncated }) =>
    truncated
      ? {
          label: `${rule}…`,
          value: count,
          className: 'bar-rule',
          title: `${rule}… (cut: the rule's name is longer than ${WHOLE_RULE_MAX} characters)`,
        }
      : { label: rule, value: count, className: 'bar-rule' },
  );
}

/**
 * Moves the timeline on so that it ends with the interval holding `ms`, keeping its length.
 * @param {Timeline} timeline
 * @param {number} ms
 */
function advanceTo(timeline, ms) {
  const length = timeline.byPriority[0]?.counts.length ?? 0;
  const steps = Math.floor((ms - timeline.startMs) / timeline.stepMs) - length + 1;
  if (steps <= 0) return;
  const shift = Math.min(steps, length);
  for (const row of timeline.byPriority)
    row.counts = [...row.counts.slice(shift), ...new Array(shift).fill(0)];
  timeline.startMs += steps * timeline.stepMs;
}

/**
 * @param {Summary} summary from the server; changed in place by add()
 */
export function createSummaryModel(summary) {
  const asOfMs = Date.parse(summary.asOf);
  /** @type {Set<string>} */
  const seen = new Set();
  // Alerts the store takes before it evicts one of these counts (a server without it: no bound).
  let room = typeof summary.room === 'number' ? summary.room : Number.POSITIVE_INFINITY;
  // The highest count of a rule the full top list left out (a server without it: unknown).
  const unlistedMax = typeof summary.unlistedMax === 'number' ? summary.unlistedMax : undefined;
  /** Live alerts per rule the full top list left out. @type {Map<string, number>} */
  const unlisted = new Map();
  // A live alert of a rule the full top list left out that may now rank in it: only the server knows.
  let unrankedRule = false;

  /**
   * Whether a rule the full top list left out may now rank in it: its count is at most
   * `unlistedMax` plus its live alerts, and it ranks in once that reaches the last listed rule's
   * count (ties by code unit, as the server ranks). Unsure (no bound, too many rules): yes.
   * @param {string} rule
   * @param {RuleRow} last
   */
  function mayRank(rule, last) {
    if (unlistedMax === undefined) return true;
    const live = (unlisted.get(rule) ?? 0) + 1;
    if (live === 1 && unlisted.size >= MAX_UNLISTED) return true;
    unlisted.set(rule, live);
    const most = unlistedMax + live;
    return most > last.count || (most === last.count && rule <= last.rule);
  }

  return {
    summary,
    /**
     * True once a live alert came that may have evicted a counted one, or whose rule may now rank
     * in the top list: only a new summary knows.
     */
    get stale() {
      return room < 0 || unrankedRule;
    },
    /**
     * Counts one live alert, unless the summary already held it, it was counted before, or the store
     * had no room left for it without evicting a counted alert (then `stale`).
     * @param {AlertItem} item
     * @returns {boolean} whether the numbers changed
     */
    add(item) {
      const ms = Date.parse(item.receivedAt);
      if (!(ms > asOfMs) || seen.has(item.id) || room < 0) return false;
      // Past the bound the oldest id makes room; refusing new ids would freeze the counts in a burst.
      if (seen.size >= MAX_SEEN) seen.delete(/** @type {string} */ (seen.values().next().value));
      seen.add(item.id);
      room -= 1;
      if (room < 0) return false;
      const { priority } = item.alert;
      // As the store holds it: a lone surrogate (sent escaped) is U+FFFD there, and the stream sends
      // the alert as received, so "R\ud800" was counted in a row of its own beside the listed one.
      const rule = item.alert.rule.toWellFormed();
      const row = summary.byPriority.find((entry) => entry.priority === priority);
      if (!row) return false;
      row.count += 1;
      summary.total += 1;
      // A rule the server lists cut: a row that reads as its start may be another rule's, and it
      // may have none yet, so only the server can count it. A whole rule is never a cut row's.
      const top = summary.topRules.find((entry) => entry.rule === rule && !entry.truncated);
      if (rule.length > WHOLE_RULE_MAX) unrankedRule = true;
      else if (top) top.count += 1;
      else if (summary.topRules.length < TOP_RULES) summary.topRules.push({ rule, count: 1 });
      // Not listed, though it may have counted up to the last one listed: its 1 would be wrong.
      else if (mayRank(rule, /** @type {RuleRow} */ (summary.topRules.at(-1)))) unrankedRule = true;
      summary.topRules.sort(byRank);
      const { timeline } = summary;
      advanceTo(timeline, ms);
      const index = Math.floor((ms - timeline.startMs) / timeline.stepMs);
      const counts = timeline.byPriority.find((entry) => entry.priority === priority)?.counts;
      if (counts && index >= 0 && index < counts.length) counts[index] = (counts[index] ?? 0) + 1;
      return true;
    },
  };
}
