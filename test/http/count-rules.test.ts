import { describe, expect, it } from 'vitest';
import { countRules } from '../../src/http/dashboard/count-rules.js';
import { capText } from '../../src/store/capped-text.js';

describe('countRules', () => {
  it('counts each rule once, in runs and scattered, whether it keeps one Map or many', () => {
    // Short names, and capped forms that share their first 1,024 units (told apart by their digest).
    const long = (i: number) => capText('x'.repeat(2_000) + String(i));
    const rules = Array.from({ length: 3_000 }, (_, i) => (i % 3 === 0 ? long(i % 50) : `Rule ${i % 700}`));
    const expected = new Map<string, number>();
    for (const rule of [...rules, ...rules.slice(0, 10)]) expected.set(rule, (expected.get(rule) ?? 0) + 1);

    for (const held of [0, 3_010, 100_000, 1_000_000]) {
      const counts = countRules(held);
      for (const rule of [...rules, ...rules.slice(0, 10)]) counts.add(rule);
      const entries = [...counts.entries()];

      expect(entries).toHaveLength(expected.size);
      expect(new Map(entries)).toEqual(expected);
    }
  });
});
