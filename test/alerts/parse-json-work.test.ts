import type * as LosslessJson from 'lossless-json';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { MAX_JSON_DEPTH } from '../../src/alerts/parse-json-fast.js';
import { parseJson } from '../../src/alerts/parse-json.js';

// The strict parser, counted: it reads a character at a time (about 120 ns a byte on a megabyte of
// junk, against native JSON.parse's 10 to 50), so which bodies reach it bounds what junk costs.
const lossless = vi.hoisted(() => ({ calls: 0 }));
vi.mock('lossless-json', async (importOriginal) => {
  const original = await importOriginal<typeof LosslessJson>();
  return {
    ...original,
    parse: (...args: Parameters<typeof original.parse>) => {
      lossless.calls++;
      return original.parse(...args);
    },
  };
});

const HEAD = '{"rule":"r","priority":"Notice","time":"2026-06-15T09:31:44.611094417Z","output_fields":';
// About a megabyte of distinct keys, the shape a refused body is slowest to name a field in.
const manyKeys = Array.from({ length: 60_000 }, (_, i) => `"field.number.${i}":${i}`).join(',');

describe('what a junk body makes the parsers do (each a bounded pass over the body)', () => {
  let nativeParse: MockInstance<typeof JSON.parse>;
  beforeEach(() => {
    lossless.calls = 0;
    nativeParse = vi.spyOn(JSON, 'parse');
  });
  afterEach(() => nativeParse.mockRestore());

  it.each([
    ['a megabyte of brackets', `${HEAD}{"x":${'['.repeat(1_000_000)}}}`, '/0'],
    ['a megabyte of nested objects, never closed', `${HEAD}{"x":${'{"a":'.repeat(200_000)}`, '/a'],
  ])('refuses %s before any parser runs, naming the 33rd level', (_name, text, step) => {
    expect(parseJson(text)).toMatchObject({
      ok: false,
      kind: 'malformed',
      message: `JSON nesting is deeper than ${MAX_JSON_DEPTH} levels`,
      pointer: `/output_fields/x${step.repeat(MAX_JSON_DEPTH - 2)}`,
    });
    expect(nativeParse).not.toHaveBeenCalled();
    expect(lossless.calls).toBe(0);
  });

  it('refuses nesting too deep after a syntax error as too deep, before any parser runs', () => {
    const text = `${HEAD}{"x":1,,"y":${'['.repeat(40)}${']'.repeat(40)}}}`;
    expect(parseJson(text)).toMatchObject({
      ok: false,
      message: `JSON nesting is deeper than ${MAX_JSON_DEPTH} levels`,
    });
    expect(nativeParse).not.toHaveBeenCalled();
    expect(lossless.calls).toBe(0);
  });

  it.each([
    ['with another value', `${HEAD}{${manyKeys},"field.number.7":"again"}}`],
    ['with the same value', `${HEAD}{${manyKeys},"field.number.7":7}}`],
  ])('names a key repeated at the end of a megabyte of keys %s with one native parse', (_name, text) => {
    expect(parseJson(text)).toMatchObject({
      ok: false,
      kind: 'duplicate_key',
      pointer: '/output_fields/field.number.7',
    });
    // The one native parse is the fast path's; naming the key reads no key with a parser.
    expect(nativeParse).toHaveBeenCalledTimes(1);
    expect(lossless.calls).toBe(0);
  });

  it('reads a key with an escape as the parser does when naming it', () => {
    expect(parseJson(`${HEAD}{"a\\u002fb":1,"a/b":2}}`)).toMatchObject({ pointer: '/output_fields/a~1b' });
  });

  it.each([
    ['a value missing', `${HEAD}{${manyKeys},"last":}}`, /^Unexpected token '}'$/, ''],
    [
      'a comma missing',
      `${HEAD}{${manyKeys},"last":1 "next":2}}`,
      /^Expected ',' or '}' after property value at position \d+$/,
      '/output_fields/last',
    ],
    [
      'the body cut off in a string',
      `${HEAD}{${manyKeys},"last":"cut`,
      /^Unterminated string at position \d+$/,
      '/output_fields/last',
    ],
    [
      'the body cut off after a value',
      `${HEAD}{${manyKeys},"last":1`,
      /^Unexpected end of JSON input$/,
      '/output_fields/last',
    ],
  ])(
    'refuses a megabyte of keys with %s at its end after one native parse, quoting none of it',
    (_name, text, message, pointer) => {
      expect(parseJson(text)).toMatchObject({ ok: false, kind: 'malformed', message, pointer });
      expect(nativeParse).toHaveBeenCalledTimes(1);
      expect(lossless.calls).toBe(0);
    },
  );

  it("names a syntax error in a body of an alert's size with the strict parser's message and place", () => {
    expect(parseJson(`${HEAD}{"a":1,"last":}}`)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/at position \d+$/),
      pointer: '/output_fields/last',
    });
    expect(lossless.calls).toBe(1);
  });

  it('reads a megabyte of keys with integers above 2^53 that share a double exactly, without the strict parser', () => {
    // 1781515904611094417 and ...418 are the same double: only their literals tell them apart.
    const text = `${HEAD}{${manyKeys},"evt.time":1781515904611094417,"evt.rawtime":1781515904611094418,"huge":1e+9999}}`;
    const result = parseJson(text) as { ok: true; value: { output_fields: Record<string, unknown> } };

    expect(result.ok).toBe(true);
    expect(result.value.output_fields).toMatchObject({
      'evt.time': 1781515904611094417n,
      'evt.rawtime': 1781515904611094418n,
      huge: null,
      'field.number.59999': 59999,
    });
    expect(lossless.calls).toBe(0);
  });

  it('accepts a valid alert with one native parse and no strict one', () => {
    expect(parseJson(`${HEAD}{${manyKeys}}}`).ok).toBe(true);
    expect(nativeParse).toHaveBeenCalledTimes(1);
    expect(lossless.calls).toBe(0);
  });

  it.each([
    ['150,000 keys', `${HEAD}{${Array.from({ length: 150_000 }, (_, i) => `"k${i}":0`).join(',')}}}`],
    ['600,000 empty objects', `${HEAD}{"x":[${'{},'.repeat(600_000)}{}]}}`],
    ['600,000 empty lists, never closed', `${HEAD}{"x":[${'[],'.repeat(600_000)}`],
  ])('refuses %s past the bound from the scan alone, before any parser runs', (_name, text) => {
    expect(parseJson(text, 10_000)).toMatchObject({
      ok: false,
      kind: 'too_large',
      pointer: expect.stringMatching(/^\/output_fields\/(k\d+|x\/\d+)$/),
    });
    expect(nativeParse).not.toHaveBeenCalled();
    expect(lossless.calls).toBe(0);
  });

  it('reads numbers beyond a double and long literals that are not plain integers with one native parse', () => {
    const text = `${HEAD}{${manyKeys},"inf":1e+9999,"e":1.00000000000000e5,"big":12345678901234567e3,"f":0.30000000000000004}}`;
    expect(parseJson(text)).toMatchObject({
      ok: true,
      beyondDouble: true,
      value: { output_fields: { inf: null, e: 100000, big: 12345678901234567e3, f: 0.30000000000000004 } },
    });
    expect(nativeParse).toHaveBeenCalledTimes(1);
    expect(lossless.calls).toBe(0);
  });

  it('reads a megabyte with exponent literals of integers above 2^53 (1e20) in one native parse, no reviver', () => {
    const zeros = Array(4000).fill('0').join(',');
    const lists = Array.from({ length: 220 }, (_, j) => `"k${j}":[${zeros}]`).join(',');
    const exponents = Array.from({ length: 160_000 }, (_, i) => `${i + 1}e20`).join(',');
    for (const text of [`${HEAD}{"a":1e20,${lists}}}`, `${HEAD}{"list":[${exponents}]}}`]) {
      nativeParse.mockClear();
      expect(parseJson(text)).toMatchObject({ ok: true, value: { output_fields: {} } });
      expect(nativeParse).toHaveBeenCalledTimes(1);
      expect(nativeParse.mock.calls[0]?.[1]).toBeUndefined();
    }
    expect(lossless.calls).toBe(0);
  });

  // V8 does not seed the hash of number keys: values chosen to share a bucket made noting them
  // quadratic (104,000 stalled the event loop 47 s). Past 256 distinct ones, none is noted: the
  // exact parser reads them all, one native parse with a reviver.
  it('notes at most 256 distinct unsafe integers, and reads a body with more exactly in one parse', () => {
    const integers = Array.from({ length: 20_000 }, (_, i) => `${9_007_199_254_740_994n + 2n * BigInt(i)}`);
    const text = `${HEAD}{"list":[${integers.join(',')}]}}`;
    const result = parseJson(text) as { ok: true; value: { output_fields: { list: bigint[] } } };

    expect(result.value.output_fields.list.map(String)).toEqual(integers);
    expect(nativeParse).toHaveBeenCalledTimes(1);
    expect(nativeParse.mock.calls[0]?.[1]).toBeTypeOf('function');
    expect(lossless.calls).toBe(0);
  });
});
