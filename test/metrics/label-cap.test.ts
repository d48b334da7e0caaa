import { describe, expect, it } from 'vitest';
import { LabelCap, MAX_LABEL_LENGTH, OVERFLOW_LABEL } from '../../src/metrics/label-cap.js';
import { bigText, heapUsedAfterGc } from '../helpers/heap.js';

describe('LabelCap', () => {
  it('passes the first values and replaces new ones past the cap with __overflow__, counting each', () => {
    let overflows = 0;
    const cap = new LabelCap(2, () => (overflows += 1));
    expect([cap.value('a'), cap.value('b'), cap.value('c'), cap.value('a'), cap.value('d')]).toEqual([
      'a',
      'b',
      OVERFLOW_LABEL,
      'a',
      OVERFLOW_LABEL,
    ]);
    expect(overflows).toBe(2);
  });

  it('counts a call that stands for several uses as that many overflows', () => {
    const counted: number[] = [];
    const cap = new LabelCap(1, (uses) => counted.push(uses));
    expect([cap.value('a', 5), cap.value('b', 3), cap.value('a', 2)]).toEqual(['a', OVERFLOW_LABEL, 'a']);
    expect(counted).toEqual([3]);
  });

  it('makes one value of two that would print the same: lone surrogates, and a pair cut in two', () => {
    const cap = new LabelCap(10, () => undefined);
    const stem = 'r'.repeat(MAX_LABEL_LENGTH - 1);
    const values = [
      cap.value('lone\ud800'),
      cap.value('lone\udc00'),
      cap.value(`${stem}😀`),
      cap.value(`${stem}𝔸`),
    ];

    expect(values).toEqual(['lone\uFFFD', 'lone\uFFFD', `${stem}\uFFFD`, `${stem}\uFFFD`]);
    // Only two values seen: room is left for eight more.
    for (let i = 0; i < 8; i++) expect(cap.value(`v${i}`)).toBe(`v${i}`);
    expect(cap.value('one too many')).toBe(OVERFLOW_LABEL);
    // A whole pair stays as it is.
    expect(new LabelCap(1, () => undefined).value('ok 😀')).toBe('ok 😀');
  });

  it('cuts very long values', () => {
    const cap = new LabelCap(10, () => {});
    expect(cap.value('x'.repeat(5000))).toHaveLength(MAX_LABEL_LENGTH);
  });

  it('keeps its own copy of a cut value, not the whole value it was cut from', () => {
    const cap = new LabelCap(100, () => {});
    const kept: string[] = [];
    const before = heapUsedAfterGc();
    // 40 one-megabyte hostnames: 40 label values of MAX_LABEL_LENGTH characters stay, not 40 MB.
    for (let i = 0; i < 40; i++) kept.push(cap.value(bigText(`host-${i}`)));
    const grown = heapUsedAfterGc() - before;
    expect(kept[39]).toBe(bigText('host-39').slice(0, MAX_LABEL_LENGTH));
    expect(grown).toBeLessThan(4 * 1024 * 1024);
  });

  it('replaces control characters so the exposition format stays one line per series', () => {
    const cap = new LabelCap(10, () => {});
    expect(cap.value('a\u0000b\nc')).toBe('a\uFFFDb\uFFFDc');
  });
});
