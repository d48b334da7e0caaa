import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { logSafeBytes, logSafeText } from '../../src/logging/log-safe.js';
import { RAW_LINE_BREAKERS, splitLinesLikePython } from '../helpers/line-breakers.js';

const UNSAFE = ['\u007f', '\u0080', '\u0085', '\u009b', '\u009f', '\u2028', '\u2029'];
// Near them, and not escaped: C0 controls are JSON's own to escape, the others are plain text.
const KEPT = 'tab\t é ° \u00a0 \u00a0 © … — ‘’ “” \u2027 \u202a 日本 🙂 ~';

const line = (value: string) => `${JSON.stringify({ level: 'info', value })}\n`;

describe('logSafeText', () => {
  it.each(UNSAFE)('escapes U+%s as \\u, keeping the value', (char) => {
    const text = line(`a${char}b`);
    const safe = logSafeText(text);
    expect(safe).not.toMatch(RAW_LINE_BREAKERS);
    expect(safe).toContain(`a\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}b`);
    expect(JSON.parse(safe)).toEqual(JSON.parse(text));
  });

  it.each([
    ['a short line', 1],
    ['a line scanned as bytes', 20],
    ['a line too long for the scratch buffer', 2500],
  ])('returns %s without them as it is, and escapes one that has them', (_name, repeat) => {
    const plain = line(KEPT.repeat(repeat));
    expect(logSafeText(plain)).toBe(plain);
    const unsafe = line(`${KEPT.repeat(repeat)}\u2028${KEPT}\u0085`);
    const safe = logSafeText(unsafe);
    expect(safe).not.toMatch(RAW_LINE_BREAKERS);
    expect(JSON.parse(safe)).toEqual(JSON.parse(unsafe));
  });

  it('finds DEL in a long ASCII line', () => {
    expect(logSafeText(line(`${'x'.repeat(500)}\u007f`))).toBe(
      line('x'.repeat(500)).replace('"}', '\\u007f"}'),
    );
  });

  it('finds a C1 control behind many no-break spaces and other C2 characters', () => {
    const text = line(`${'\u00a0°'.repeat(2000)}\u009b`);
    expect(logSafeText(text)).not.toMatch(RAW_LINE_BREAKERS);
  });

  it('leaves escapes that are already there alone', () => {
    const text = String.raw`{"value":"a\u2028b\\u0085"}`;
    expect(logSafeText(text)).toBe(text);
  });
});

describe('a body-sized run of them', () => {
  // Every one of them, 33 C1/DEL and the two separators, each as JSON.stringify would write a control.
  const ALL = [...Array.from({ length: 0x21 }, (_, i) => String.fromCharCode(0x7f + i)), '\u2028', '\u2029'];
  const escaped = (char: string) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;

  it('escapes each of the 35 exactly, between other text', () => {
    const text = line(ALL.map((char) => `a${char}`).join('') + 'z');
    expect(logSafeText(text)).toBe(text.replace(/[\u007f-\u009f\u2028\u2029]/g, escaped));
    expect(logSafeBytes(Buffer.from(text)).toString()).toBe(logSafeText(text));
  });

  it('writes the bytes a replace over every character would, for any text', () => {
    const oracle = (text: string) => Buffer.from(text.replace(/[\u007f-\u009f\u2028\u2029]/g, escaped));
    const unsafeHeavy = fc.string({
      unit: fc.oneof(
        fc.constantFrom(...ALL, '\u00a0', '\u00c2', '\u20ac', '\ud83d\ude42'),
        fc
          .integer({ min: 0, max: 0x10ffff })
          .filter((code) => code < 0xd800 || code > 0xdfff)
          .map((code) => String.fromCodePoint(code)),
      ),
      maxLength: 400,
    });
    fc.assert(
      fc.property(unsafeHeavy, (value) => {
        const text = line(value);
        expect(Buffer.from(logSafeText(text))).toEqual(oracle(text));
        expect(logSafeBytes(Buffer.from(text))).toEqual(oracle(text));
      }),
      { numRuns: 2000 },
    );
  });

  // A 1.8 MB alert of DEL held the loop for 0.56 s when each character was a call of a replacer
  // (found by review); one loop over the text takes a tenth of that. Counted, not timed: escaping
  // makes no call per character (String.prototype.replace with a function is such a call).
  it('escapes 1.8 MB of DEL, C1 and U+2028 without a call per character', () => {
    const replace = vi.spyOn(String.prototype, 'replace');
    try {
      const text = line('\u007f\u0085\u2028'.repeat(300_000));
      const safe = logSafeBytes(Buffer.from(text)).toString();
      expect(replace).not.toHaveBeenCalled();
      expect(safe).toBe(line('').replace('""', `"${'\\u007f\\u0085\\u2028'.repeat(300_000)}"`));
    } finally {
      replace.mockRestore();
    }
  });
});

describe('logSafeBytes', () => {
  it('returns the same bytes when they hold none of them, C2 characters and other UTF-8 included', () => {
    const bytes = Buffer.from(line(KEPT.repeat(50)));
    expect(logSafeBytes(bytes)).toBe(bytes);
    const manyC2 = Buffer.from(line('\u00a0'.repeat(5000)));
    expect(logSafeBytes(manyC2)).toBe(manyC2);
  });

  it('escapes each of them in several lines, every piece of which a Python-like split still parses', () => {
    const text = UNSAFE.map((char) => line(`${KEPT}${char}${'\u00a0'.repeat(20)}${char}`)).join('');
    const safe = logSafeBytes(Buffer.from(text)).toString('utf8');
    expect(safe).not.toMatch(RAW_LINE_BREAKERS);
    const pieces = splitLinesLikePython(safe);
    expect(pieces.map((piece) => JSON.parse(piece) as unknown)).toEqual(
      text
        .trimEnd()
        .split('\n')
        .map((piece) => JSON.parse(piece) as unknown),
    );
  });

  it('finds DEL in ASCII bytes', () => {
    const bytes = Buffer.from(line(`${'x'.repeat(500)}\u007f`));
    expect(logSafeBytes(bytes).toString('utf8')).toBe(line('x'.repeat(500)).replace('"}', '\\u007f"}'));
  });

  it('finds a C1 control past the first C2 characters it looks at', () => {
    const bytes = Buffer.from(line(`${'°'.repeat(100)}\u0085`));
    expect(logSafeBytes(bytes).toString('utf8')).toBe(
      line(`${'°'.repeat(100)}\u0085`).replace('\u0085', '\\u0085'),
    );
  });
});
