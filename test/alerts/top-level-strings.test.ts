import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readTopLevelStrings } from '../../src/alerts/top-level-strings.js';

const NAMES = new Set(['time', 'output', 'message']);

// What JSON.parse gives for the named keys that hold strings.
function parsedStrings(text: string): Map<string, string> {
  const parsed = JSON.parse(text) as Record<string, unknown>;
  const found = new Map<string, string>();
  for (const [key, value] of Object.entries(parsed)) {
    if (NAMES.has(key) && typeof value === 'string') found.set(key, value);
  }
  return found;
}

describe('readTopLevelStrings', () => {
  it('reads the named string values of the top level, not those of nested objects or arrays', () => {
    const text =
      '{"output_fields":{"time":"nested","a":["time","}"]},"rule":"r","time":"2026-06-15T09:31:44.611094417Z",' +
      '"tags":["output"],"output":"say \\"hi\\", {not: a brace} \\\\","n":1.2345678901234567e5}';

    expect(readTopLevelStrings(text, NAMES)).toEqual(
      new Map([
        ['time', '2026-06-15T09:31:44.611094417Z'],
        ['output', 'say "hi", {not: a brace} \\'],
      ]),
    );
  });

  it('reads escaped keys and values as JSON.parse does, after whitespace and a byte order mark', () => {
    const text = '\uFEFF \n{ "\\u0074ime" : "t\\u00e9", "message":"line\\nbreak \\ud83d\\ude00" }';

    expect(readTopLevelStrings(text, NAMES)).toEqual(parsedStrings(text.replace(/^\uFEFF/, '')));
  });

  it('gives undefined for text that is not an object', () => {
    expect(readTopLevelStrings('["time","x"]', NAMES)).toBeUndefined();
    expect(readTopLevelStrings('"time"', NAMES)).toBeUndefined();
    expect(readTopLevelStrings('', NAMES)).toBeUndefined();
  });

  it('agrees with JSON.parse on any object', () => {
    const key = fc.oneof(fc.constantFrom('time', 'output', 'message'), fc.string());
    const object = fc.dictionary(key, fc.jsonValue(), { maxKeys: 8 });
    fc.assert(
      fc.property(object, (value) => {
        const text = JSON.stringify(value);
        expect(readTopLevelStrings(text, NAMES)).toEqual(parsedStrings(text));
      }),
      { numRuns: 500 },
    );
  });
});
