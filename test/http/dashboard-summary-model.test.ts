import { describe, expect, it } from 'vitest';
import { PRIORITIES } from '../../src/alerts/priority.js';

type Summary = ReturnType<typeof summary>;
interface SummaryModel {
  summary: Summary;
  readonly stale: boolean;
  add(item: unknown): boolean;
}
// The page's own module: plain JavaScript without DOM use, so it runs here as it does in the
// browser. A path in a variable: the Node tsconfig does not type-check the page scripts
// (tsconfig.page.json does), so the shape used here is declared above.
const MODEL_MODULE = '../../src/http/dashboard/assets/js/summary-model.js';
type RuleRow = { rule: string; count: number; truncated?: true };
const { createSummaryModel, ruleBars } = (await import(MODEL_MODULE)) as {
  createSummaryModel: (
    summary: Omit<Summary, 'topRules'> & { topRules: RuleRow[]; room?: number; unlistedMax?: number },
  ) => SummaryModel;
  ruleBars: (
    topRules: RuleRow[],
  ) => Array<{ label: string; value: number; className: string; title?: string }>;
};

const AS_OF = Date.parse('2026-06-15T12:00:00.000Z');
const STEP = 60_000;

function summary() {
  return {
    window: '1h',
    since: new Date(AS_OF - 3 * STEP).toISOString(),
    asOf: new Date(AS_OF).toISOString(),
    total: 1,
    byPriority: PRIORITIES.map((priority) => ({ priority, count: priority === 'Error' ? 1 : 0 })),
    topRules: [{ rule: 'Old rule', count: 1 }],
    timeline: {
      startMs: AS_OF - 3 * STEP,
      stepMs: STEP,
      byPriority: PRIORITIES.map((priority) => ({
        priority,
        counts: [priority === 'Error' ? 1 : 0, 0, 0, 0],
      })),
    },
  };
}

function item(id: string, msAfter: number, rule = 'New rule', priority = 'Critical') {
  return {
    id,
    receivedAt: new Date(AS_OF + msAfter).toISOString(),
    source: 'syscall',
    alert: { rule, priority, time: '2026-06-15T12:00:00Z' },
  };
}

// A full top list: ten rules of ten alerts each, 'Rule 9' last.
const fullTopRules = () => Array.from({ length: 10 }, (_, index) => ({ rule: `Rule ${index}`, count: 10 }));

const countsOf = (model: SummaryModel, priority: string) =>
  model.summary.timeline.byPriority.find((row) => row.priority === priority)?.counts;

describe('the Overview model on the page', () => {
  it('adds a live alert received after the summary to the total, its priority, the top rules and the last interval', () => {
    const model = createSummaryModel(summary());

    expect(model.add(item('a', 10))).toBe(true);

    expect(model.summary.total).toBe(2);
    expect(model.summary.byPriority.find((row) => row.priority === 'Critical')?.count).toBe(1);
    expect(model.summary.topRules).toEqual([
      { rule: 'New rule', count: 1 },
      { rule: 'Old rule', count: 1 },
    ]);
    expect(countsOf(model, 'Critical')).toEqual([0, 0, 0, 1]);
  });

  it('counts an alert once, however often the stream replays it, and never one the summary already held', () => {
    const model = createSummaryModel(summary());

    model.add(item('a', 10));
    expect(model.add(item('a', 10))).toBe(false);
    expect(model.add(item('held', 0))).toBe(false);
    expect(model.add(item('older', -5000))).toBe(false);

    expect(model.summary.total).toBe(2);
  });

  it('moves the chart on when an alert falls past its last interval, keeping its length', () => {
    const model = createSummaryModel(summary());

    model.add(item('b', 2 * STEP + 5, 'Old rule', 'Error'));

    expect(countsOf(model, 'Error')).toEqual([0, 0, 0, 1]);
    expect(model.summary.timeline.startMs).toBe(AS_OF - STEP);
    expect(model.summary.topRules[0]).toEqual({ rule: 'Old rule', count: 2 });

    model.add(item('c', 60 * STEP, 'Old rule', 'Error'));

    expect(countsOf(model, 'Error')).toEqual([0, 0, 0, 1]);
    expect(model.summary.timeline.startMs).toBe(AS_OF + 57 * STEP);
  });

  it('counts a live alert of a rule with a lone surrogate in the row the server lists it in (U+FFFD)', () => {
    const model = createSummaryModel({ ...summary(), topRules: [{ rule: 'R\uFFFD', count: 1 }] });
    // The stream sends the alert as received; the store holds its rule well-formed (found by review).
    model.add(item('a', 10, 'R\ud800'));
    expect(model.summary.topRules).toEqual([{ rule: 'R\uFFFD', count: 2 }]);
  });

  it('orders rules of one count by code unit, as the server does, so a live alert does not reorder the rows', () => {
    const model = createSummaryModel(summary());

    model.add(item('a', 10, 'alpha'));
    model.add(item('b', 20, 'Zulu'));

    // By code unit upper case comes first; localeCompare would put 'alpha' before 'Old rule'.
    expect(model.summary.topRules.map((row) => row.rule)).toEqual(['Old rule', 'Zulu', 'alpha']);
  });

  it('keeps counting past 5,000 live alerts between two reloads of the summary (a burst), still once per id', () => {
    const model = createSummaryModel(summary());

    for (let index = 0; index < 6000; index += 1) model.add(item(`burst-${index}`, 10));
    model.add(item('burst-5999', 10));

    expect(model.summary.total).toBe(1 + 6000);
    expect(model.summary.byPriority.find((row) => row.priority === 'Critical')?.count).toBe(6000);
  });

  // Regression: with the store full each live alert evicted one the summary had counted, yet the
  // model only added, so the Overview ran ahead of GET /ui/summary until the next reload.
  it('counts live alerts only while the store has room for them, then says it is stale and adds no more', () => {
    const model = createSummaryModel({ ...summary(), room: 2 });

    expect(model.add(item('a', 10))).toBe(true);
    expect(model.add(item('b', 20))).toBe(true);
    expect(model.stale).toBe(false);
    expect(model.add(item('c', 30))).toBe(false);
    expect(model.add(item('d', 40, 'Old rule', 'Error'))).toBe(false);

    expect(model.stale).toBe(true);
    expect(model.summary.total).toBe(3);
    expect(model.summary.topRules).toEqual([
      { rule: 'New rule', count: 2 },
      { rule: 'Old rule', count: 1 },
    ]);
  });

  it('counts a replayed alert against the room once', () => {
    const model = createSummaryModel({ ...summary(), room: 1 });

    model.add(item('a', 10));
    model.add(item('a', 10));

    expect(model.stale).toBe(false);
    expect(model.summary.total).toBe(2);
  });

  // Regression: a live alert of a rule outside the top ten was pushed with count 1, so a rule at 9
  // outside them showed as 1, and rules outside them never climbed right between two reloads.
  it('counts a live alert of a rule the full top list left out, without listing it, and says it is stale (a server without unlistedMax)', () => {
    const topRules = fullTopRules();
    const model = createSummaryModel({ ...summary(), total: 100, topRules });

    expect(model.add(item('a', 10, 'Rule outside'))).toBe(true);

    expect(model.summary.total).toBe(101);
    expect(model.summary.topRules).toEqual(topRules);
    expect(model.stale).toBe(true);
  });

  // Regression: every live alert of a rare rule made each open page read the summary again, about
  // once a second forever on a busy cluster, though such a rule could not have reached the list.
  it('stays fresh on live alerts of rules left out while unlistedMax plus their alerts stays below the last listed', () => {
    const topRules = fullTopRules();
    const model = createSummaryModel({ ...summary(), total: 100, topRules, unlistedMax: 5 });

    for (let index = 0; index < 4; index += 1) model.add(item(`a${index}`, 10, 'Rare rule'));
    for (let index = 0; index < 4; index += 1) model.add(item(`b${index}`, 10, `Rare rule ${index}`));

    expect(model.summary.total).toBe(108);
    expect(model.summary.topRules).toEqual(topRules);
    expect(model.stale).toBe(false);
  });

  it('says it is stale once a rule left out may reach the last listed, ties ranked by code unit as the server does', () => {
    const behind = createSummaryModel({ ...summary(), total: 100, topRules: fullTopRules(), unlistedMax: 8 });
    const ahead = createSummaryModel({ ...summary(), total: 100, topRules: fullTopRules(), unlistedMax: 8 });

    // 8 + 2 ties 'Rule 9' at 10: 'Rule outside' ranks after it by code unit, 'A rule' before it.
    behind.add(item('a', 10, 'Rule outside'));
    behind.add(item('b', 20, 'Rule outside'));
    ahead.add(item('a', 10, 'A rule'));
    expect(ahead.stale).toBe(false);
    ahead.add(item('b', 20, 'A rule'));

    expect(behind.stale).toBe(false);
    expect(ahead.stale).toBe(true);
    behind.add(item('c', 30, 'Rule outside'));
    expect(behind.stale).toBe(true);
  });

  it('says it is stale when more rules left out come than it keeps counts for', () => {
    const model = createSummaryModel({ ...summary(), total: 100, topRules: fullTopRules(), unlistedMax: 0 });

    for (let index = 0; index < 1000; index += 1) model.add(item(`r${index}`, 10, `Rare rule ${index}`));
    expect(model.stale).toBe(false);
    model.add(item('one-more', 10, 'Rare rule one more'));

    expect(model.stale).toBe(true);
  });

  it('lists a new rule with its one alert while the top list is shorter than ten: it holds every rule', () => {
    const model = createSummaryModel(summary());

    model.add(item('a', 10, 'Rule new'));

    expect(model.summary.topRules).toContainEqual({ rule: 'Rule new', count: 1 });
    expect(model.stale).toBe(false);
  });

  // The server shows a rule longer than 1,024 units by its start (`truncated`), which another long
  // rule may share: the page cannot tell which row, if any, a live alert of one belongs to.
  it('counts a live alert of a rule longer than 1,024 units in no row, and says it is stale', () => {
    const cut = { rule: 'x'.repeat(1024), count: 1, truncated: true as const };
    const model = createSummaryModel({ ...summary(), topRules: [cut] });

    expect(model.add(item('a', 10, 'x'.repeat(1_790_000)))).toBe(true);

    expect(model.summary.total).toBe(2);
    expect(model.summary.topRules).toEqual([cut]);
    expect(model.stale).toBe(true);
  });

  it('counts a live alert of a whole rule that reads as a cut row in a row of its own, ranked before it', () => {
    const cut = { rule: 'x'.repeat(1024), count: 1, truncated: true as const };
    const model = createSummaryModel({ ...summary(), topRules: [cut] });

    model.add(item('a', 10, 'x'.repeat(1024)));

    expect(model.summary.topRules).toEqual([{ rule: 'x'.repeat(1024), count: 1 }, cut]);
    expect(model.stale).toBe(false);
  });

  it('draws a cut rule with an ellipsis and a title saying it is cut, a whole one as it is', () => {
    const bars = ruleBars([
      { rule: 'Terminal shell', count: 3 },
      { rule: 'x'.repeat(1024), count: 2, truncated: true },
    ]);

    expect(bars[0]).toEqual({ label: 'Terminal shell', value: 3, className: 'bar-rule' });
    expect(bars[1]).toMatchObject({ label: `${'x'.repeat(1024)}…`, value: 2 });
    expect(bars[1]?.title).toMatch(/…\s*\(cut: the rule's name is longer than 1024 characters\)$/);
  });
});
