import { describe, expect, it } from 'vitest';
import { capText, FIELD_CAP } from '../../src/store/capped-text.js';
import { createRuleKeys } from '../../src/store/rule-keys.js';

const x = (length: number) => 'x'.repeat(length);
const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

describe('createRuleKeys', () => {
  const names = [x(10), x(FIELD_CAP), x(FIELD_CAP + 1), `${x(5000)}a`, `${x(5000)}b`, `${x(2000)}y`, 'y'];
  const streamIdOf = (name: string) => `${names.indexOf(name)}-0`;
  function keysOf(readRule: (streamId: string) => Promise<string | undefined>) {
    const newest = new Map(names.map((name) => [capText(name), streamIdOf(name)]));
    return createRuleKeys(newest, readRule);
  }

  it('orders keys as their names, reading names only for keys whose starts cannot tell', async () => {
    const read: string[] = [];
    const keys = keysOf(async (streamId) => {
      read.push(streamId);
      return names[Number(streamId.split('-')[0])];
    });

    for (const a of names)
      for (const b of names) {
        const order = await keys.compare(capText(a), capText(b));
        expect([a.length, b.length, Math.sign(order)]).toEqual([a.length, b.length, byCodeUnit(a, b)]);
      }
    // Only the names that share their first FIELD_CAP units with another long one were read.
    expect(new Set(read)).toEqual(
      new Set([`${x(5000)}a`, `${x(5000)}b`, x(FIELD_CAP + 1), `${x(2000)}y`].map(streamIdOf)),
    );
  });

  it('names a key by its alert, or by its start when that alert is gone', async () => {
    const keys = keysOf(async (streamId) =>
      streamId === streamIdOf(`${x(5000)}a`) ? `${x(5000)}a` : undefined,
    );

    expect(await keys.name('y')).toBe('y');
    expect(await keys.name(capText(`${x(5000)}a`))).toBe(`${x(5000)}a`);
    expect(await keys.name(capText(`${x(5000)}b`))).toBe(`${x(FIELD_CAP)}…`);
  });
});
