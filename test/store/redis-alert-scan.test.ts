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
