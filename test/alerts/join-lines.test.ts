import { describe, expect, it } from 'vitest';
import { joinLines } from '../../src/alerts/join-lines.js';

describe('joinLines', () => {
  it('replaces each run of CR and LF with one space, and nothing else', () => {
    expect(joinLines('{\r\n  "a": "é°",\n\n\r "b": [\r1,\n2]\n}')).toBe('{   "a": "é°",  "b": [ 1, 2] }');
  });

  it('keeps characters of several bytes whole next to a line break', () => {
    const text = '{"o":"\u{1F600}\u2028\uFFFD"\n,"k":"\u00e9"\r}';
    expect(joinLines(text)).toBe('{"o":"\u{1F600}\u2028\uFFFD" ,"k":"\u00e9" }');
  });

  it('returns text without line breaks as it is', () => {
    const text = '{"a":"x\\ny"}';
    expect(joinLines(text)).toBe(text);
  });

  it('keeps a lone surrogate, which has no UTF-8', () => {
    expect(joinLines('{"a":"\uD800"\n}')).toBe('{"a":"\uD800" }');
  });

  it('joins a body of 890,000 line breaks into the same text as a replace per run', () => {
    const text = `{"rule":"R","output":"o"${'\n '.repeat(890 * 1024)}\r\n}`;
    expect(joinLines(text)).toBe(text.replace(/[\r\n]+/g, ' '));
  });
});
