import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { createStreamScanner, type SendCommands } from '../../src/store/redis-alert-scan.js';
import { skipUnreadableEntries } from '../../src/store/skip-unreadable-entries.js';

const keys = { alerts: 'scan:alerts', fields: 'scan:alert-fields' };

// A stream entry as Redis sends it, with its fields.
const entry = (ms: number) => [
  `${ms}-0`,
  [
    'id',
    `id-${ms}`,
    'at',
    String(ms),
    't',
    String(ms),
    'src',
    'syscall',
    'rule',
    'R',
    'pri',
    'Notice',
    'bytes',
    '1000',
  ],
];

describe('createStreamScanner', () => {
  // Regression: each scan read its pages (up to about 4 MB each) whatever the others did, so 18
  // lists at once, each with a page and its reply being parsed, ran a 128 MB heap out of memory.
  it('reads two pages at a time however many scans run, and ends every scan', async () => {
    let reading = 0;
    let most = 0;
    const send: SendCommands = async (commands) => {
      const [command] = commands;
      if (command?.[0] !== 'XREVRANGE') return [1];
      reading += 1;
      most = Math.max(most, reading);
      await new Promise((resolve) => setTimeout(resolve, 5));
      reading -= 1;
      // 16 entries (the first page's count), then the last two.
      return [
        command[2] === '+' ? Array.from({ length: 16 }, (_, i) => entry(100 - i)) : [entry(2), entry(1)],
      ];
    };
    const scanBack = createStreamScanner({
      keys,
      send,
      maxEntries: 1000,
      unreadable: skipUnreadableEntries({ unreadableEntry: () => undefined }, pino({ level: 'silent' })),
    });

    const scans = await Promise.all(
      Array.from({ length: 10 }, () =>
        scanBack({
          op: 'since',
          end: '+',
          start: '-',
          view: (fields) => fields.streamId,
          limit: 1000,
          maxBytes: { hard: 1e9 },
          texts: 'none',
        }),
      ),
    );

    expect(most).toBe(2);
    expect(scans.map(({ found }) => found.length)).toEqual(Array.from({ length: 10 }, () => 18));
  });
});

// A stream of entries newest first, as XREVRANGE reads it: ids `${ms}-0`, each of rule `rules[ms - 1]`.
function fakeStream(rules: readonly string[]): SendCommands {
  const at = (bound: string) => ({
    ms: Number(bound.replace('(', '').split('-')[0]),
    open: bound.startsWith('('),
  });
  return async (commands) =>
    commands.map(([name, , end, start, , count]) => {
      if (name !== 'XREVRANGE') return 1;
      const to = end === '+' ? { ms: Infinity, open: false } : at(end!);
      const from = start === '-' ? { ms: -Infinity, open: false } : at(start!);
      const ids = rules.map((_, i) => i + 1).reverse();
      return ids
        .filter((ms) => (to.open ? ms < to.ms : ms <= to.ms) && (from.open ? ms > from.ms : ms >= from.ms))
        .slice(0, Number(count))
        .map((ms) => {
          const [streamId, fields] = entry(ms) as [string, string[]];
          return [streamId, fields.map((value) => (value === 'R' ? rules[ms - 1]! : value))];
        });
    });
}

describe("a scan's bound on entries read (about 2 x STORE_MAX_ALERTS)", () => {
  const scanOf = (rules: readonly string[]) =>
    createStreamScanner({
      keys,
      send: fakeStream(rules),
      // Bound: 14 entries read; the first page asks for 16.
      maxEntries: 7,
      unreadable: skipUnreadableEntries({ unreadableEntry: () => undefined }, pino({ level: 'silent' })),
    })({
      op: 'query',
      end: '+',
      start: '-',
      filter: { rule: 'R' },
      view: (fields) => fields.streamId,
      limit: 100,
      maxBytes: { hard: 1e9 },
      texts: 'none',
    });
  const others = (count: number) => Array.from({ length: count }, () => 'other');

  // Regression: a full last page that ended the range was taken for a cut.
  it('is not a cut when the range ended with its last page, whatever it matched', async () => {
    expect(await scanOf([...others(15), 'R'])).toEqual({ found: ['16-0'], cut: false });
  });

  it('is a cut when it left entries of the range unread, matching or not', async () => {
    expect(await scanOf(['R', ...others(15), 'R'])).toEqual({ found: ['17-0'], cut: true });
    expect(await scanOf([...others(16), 'R'])).toEqual({ found: ['17-0'], cut: true });
  });
});
