import { describe, expect, it } from 'vitest';
import { LabelCap, MAX_LABEL_BYTES, OVERFLOW_LABEL } from '../../src/metrics/label-cap.js';
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

  it('makes one value of two that would print the same: lone surrogates, and a pair past the cut', () => {
    const cap = new LabelCap(10, () => undefined);
    const stem = 'r'.repeat(MAX_LABEL_BYTES - 1);
    const values = [
      cap.value('lone\ud800'),
      cap.value('lone\udc00'),
      cap.value(`${stem}😀`),
      cap.value(`${stem}𝔸`),
    ];

    // A pair is never cut in two: one that does not fit whole is left out.
    expect(values).toEqual(['lone\uFFFD', 'lone\uFFFD', stem, stem]);
    // Only two values seen: room is left for eight more.
    for (let i = 0; i < 8; i++) expect(cap.value(`v${i}`)).toBe(`v${i}`);
    expect(cap.value('one too many')).toBe(OVERFLOW_LABEL);
    // A whole pair stays as it is.
    expect(new LabelCap(1, () => undefined).value('ok 😀')).toBe('ok 😀');
  });

  it('cuts very long values', () => {
    const cap = new LabelCap(10, () => {});
    expect(cap.value('x'.repeat(5000))).toHaveLength(MAX_LABEL_BYTES);
  });

  // Regression (security review): 200 characters that /metrics escapes or writes in 3 bytes each
  // took 400 or 600 bytes per value, and the page grew from 1.5 to 2.7 MiB.
  it.each([
    ['quotes, escaped to 2 bytes', '"', 100],
    ['backslashes, escaped to 2 bytes', '\\', 100],
    ['3-byte characters', '€', 66],
    ['4-byte pairs', '😀', 100],
    ['control characters, written as U+FFFD', '\u0001', 66],
    ['C1 controls, written as U+FFFD', '\u0085', 66],
  ])('cuts a value of %s at 200 bytes as /metrics writes them', (_name, unit, units) => {
    const value = new LabelCap(10, () => {}).value(unit.repeat(300));
    const written = value.replaceAll('\\', '\\\\').replaceAll('"', '\\"');

    expect(value.length).toBe(units);
    expect(Buffer.byteLength(written)).toBeLessThanOrEqual(MAX_LABEL_BYTES);
    expect(Buffer.byteLength(written)).toBeGreaterThan(MAX_LABEL_BYTES - 4);
  });

  it('keeps its own copy of a cut value, not the whole value it was cut from', () => {
    const cap = new LabelCap(100, () => {});
    const kept: string[] = [];
    const before = heapUsedAfterGc();
    // 40 one-megabyte hostnames: 40 label values of MAX_LABEL_BYTES ASCII characters stay, not 40 MB.
    for (let i = 0; i < 40; i++) kept.push(cap.value(bigText(`host-${i}`)));
    const grown = heapUsedAfterGc() - before;
    expect(kept[39]).toBe(bigText('host-39').slice(0, MAX_LABEL_BYTES));
    expect(grown).toBeLessThan(4 * 1024 * 1024);
  });

  it('replaces control characters so the exposition format stays one line per series', () => {
    const cap = new LabelCap(10, () => {});
    expect(cap.value('a\u0000b\nc')).toBe('a\uFFFDb\uFFFDc');
  });

  // Regression (security review): U+2028, U+2029 and C1 controls (NEL, CSI) stayed raw in labels,
  // where a reader splitting on Unicode line breaks cut the /metrics line.
  it('replaces DEL, C1 controls, U+2028 and U+2029 as it does C0 controls, and keeps U+00A0 and U+2027', () => {
    const cap = new LabelCap(10, () => {});
    expect(cap.value('R\u2028INJ\u009b31m\u007f\u0085\u0080\u2029')).toBe(
      'R\uFFFDINJ\uFFFD31m\uFFFD\uFFFD\uFFFD\uFFFD',
    );
    expect(cap.value('a\u00a0b\u2027c\u202ad~')).toBe('a\u00a0b\u2027c\u202ad~');
  });

  it('counts each overflowing use of a value given again and again', () => {
    let overflows = 0;
    const cap = new LabelCap(1, () => (overflows += 1));
    expect([
      cap.value('syscall'),
      cap.value('k8s_audit'),
      cap.value('k8s_audit'),
      cap.value('k8s_audit'),
    ]).toEqual(['syscall', OVERFLOW_LABEL, OVERFLOW_LABEL, OVERFLOW_LABEL]);
    expect(overflows).toBe(3);
    expect(cap.value('syscall')).toBe('syscall');
  });

  it('gives a value given again the label it gave it the first time, cleaned or cut', () => {
    let overflows = 0;
    const cap = new LabelCap(2, () => (overflows += 1));
    const long = bigText('host');
    expect(cap.value('a\u0000b')).toBe('a\uFFFDb');
    expect(cap.value('a\u0000b')).toBe('a\uFFFDb');
    expect(cap.value('a\uFFFDb')).toBe('a\uFFFDb');
    expect(cap.value(long)).toBe(long.slice(0, MAX_LABEL_BYTES));
    expect(cap.value(long)).toBe(long.slice(0, MAX_LABEL_BYTES));
    expect(overflows).toBe(0);
  });
});
