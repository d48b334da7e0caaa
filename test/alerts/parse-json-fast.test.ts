import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, nullBeyondDoubleInText, parseJsonFast } from '../../src/alerts/parse-json-fast.js';
import { parseJson, parseJsonStrict } from '../../src/alerts/parse-json.js';

const SAMPLES = new URL('../fixtures/falco/samples/', import.meta.url);
const samples = ['valid/', 'invalid/'].flatMap((dir) =>
  readdirSync(new URL(dir, SAMPLES)).map((file) => readFileSync(new URL(dir + file, SAMPLES), 'utf8')),
);

// A small deterministic PRNG so a failing mutation can be replayed.
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const SIGNIFICANT = ['"', '\\', ':', ',', '{', '}', '[', ']', '1', '-', 'e', '.', ' ', '9007199254740993'];

function mutate(text: string, next: () => number): string {
  const at = Math.floor(next() * text.length);
  const choice = next();
  if (choice < 0.3) return text.slice(0, at) + text.slice(at + 1);
  if (choice < 0.6)
    return text.slice(0, at) + SIGNIFICANT[Math.floor(next() * SIGNIFICANT.length)] + text.slice(at);
  // Copy a slice elsewhere: this is how duplicate keys and repeated big integers appear.
  const length = Math.floor(next() * 60);
  return text.slice(0, at) + text.slice(at, at + length) + text.slice(at);
}

describe('parseJsonFast', () => {
  it('gives the same value as the strict parser for every Falco sample', () => {
    for (const text of samples) expect(parseJson(text)).toEqual(parseJsonStrict(text));
  });

  it('takes the fast path for a real alert and keeps its ns timestamp above 2^53 exact', () => {
    const text = samples.find((t) => t.includes('1781515904611094417'))!;
    const fast = parseJsonFast(text);
    expect(fast).toBeDefined();
    const fields = ((fast as { value: unknown }).value as { output_fields: Record<string, unknown> })
      .output_fields;
    expect(fields['evt.time']).toBe(1781515904611094417n);
    expect(fields['user.loginuid']).toBe(-1);
  });

  it('proves duplicate keys, identical values included, even when a string holds a colon', () => {
    for (const text of [
      '{"a":1,"a":2}',
      '{"o":{"k":1,"k":true}}',
      '{"a:b":":","a":1,"a":2}',
      '{"a":1,"a":1}',
    ]) {
      expect(parseJsonFast(text)).toEqual({ duplicateKey: true });
      expect(parseJson(text)).toMatchObject({ ok: false, kind: 'duplicate_key' });
    }
  });

  it('counts keys right when strings hold quotes, backslashes and colons', () => {
    const text = String.raw`{"k\"":":\\","x":"a\\\"b:","y":["\\",":"],"z":{"":"\"\\"}}`;
    expect(parseJsonFast(text)).toEqual({ value: JSON.parse(text) });
    expect(parseJsonStrict(text)).toEqual({ ok: true, value: JSON.parse(text) });
  });

  it('keeps "__proto__" in output_fields as an own data key, never a prototype', () => {
    const fast = parseJsonFast('{"output_fields":{"__proto__":"x","constructor":1}}');
    const fields = ((fast as { value: unknown }).value as { output_fields: Record<string, unknown> })
      .output_fields;
    expect(Object.hasOwn(fields, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(fields)).toBe(Object.prototype);
    expect(fields.constructor).toBe(1);
  });

  it('with an enumerable key added to Object.prototype, agrees with the strict parser and writes nothing there', () => {
    const text = samples.find((t) => t.includes('1781515904611094417'))!;
    const polluted = Object.prototype as Record<string, unknown>;
    // An object holding the same double as the alert's evt.time, whose exact literal is in the text.
    const inherited = { n: Number('1781515904611094417') };
    polluted.inherited = inherited;
    try {
      const fast = parseJsonFast(text);
      expect(fast !== undefined && 'value' in fast).toBe(false);
      const parsed = parseJson(text);
      expect(parsed).toEqual(parseJsonStrict(text));
      expect(Object.hasOwn((parsed as { value: object }).value, 'inherited')).toBe(false);
      expect(inherited.n).toBeTypeOf('number');
    } finally {
      delete polluted.inherited;
    }
  });

  it('hands integers it cannot prove exact to the strict parser', () => {
    const cases = [
      // Two literals that share a double; one double written plain and otherwise, either order.
      '{"a":9007199254740993,"b":9007199254740992}',
      '{"a":1.0000000000000000e20,"b":100000000000000000000}',
      '{"a":100000000000000000000,"b":1e20}',
      '[1e20,100000000000000000000,100000000000000000000]',
      '{"a":-1E+20,"b":-100000000000000000000}',
    ];
    for (const text of cases) {
      expect(parseJsonFast(text)).toBeUndefined();
      expect(parseJson(text)).toEqual(parseJsonStrict(text));
    }
    // Proven without it: numbers beyond a double (null), exponents long or short whose double no
    // plain integer shares (the number, as the strict parser reads it), beside plain ones of other
    // doubles or not, a long fraction.
    for (const text of [
      `{"a":${'9'.repeat(400)},"b":${'8'.repeat(400)}}`,
      '{"a":123456789012345e5}',
      '{"a":1e400,"b":1e16}',
      '{"a":1e20,"b":-1E+20,"c":1.5e300}',
      '{"t":1781515904611094417,"a":1e20,"u":[1781515904611094417,-1E+20]}',
      '{"a":0.10000000000000001,"b":-1.2345678901234567e-300}',
    ]) {
      expect(parseJsonFast(text)).toBeDefined();
      expect(parseJson(text)).toEqual(parseJsonStrict(text));
    }
    expect(parseJson(cases[0]!)).toEqual({ ok: true, value: { a: 9007199254740993n, b: 9007199254740992n } });
    expect((parseJsonFast(`[${'9'.repeat(300)}]`) as { value: unknown }).value).toEqual([
      BigInt('9'.repeat(300)),
    ]);
  });

  it('reads an exponent literal of an integer beyond 2^53 as a number on the fast path, as the strict parser does', () => {
    // The review's body: 1.76 MB of zeros and one 1e20 went to the exact parser (a 400 ms stall).
    const zeros = Array(4000).fill('0').join(',');
    const lists = Array.from({ length: 220 }, (_, j) => `"k${j}":[${zeros}]`).join(',');
    const text = `{"rule":"R","priority":"Notice","time":"2026-12-05T08:00:00Z","output_fields":{"a":1e20,${lists}}}`;
    const fast = parseJsonFast(text);

    expect(fast).toEqual({ value: (parseJsonStrict(text) as { value: unknown }).value });
    expect((fast as { value: { output_fields: { a: unknown } } }).value.output_fields.a).toBe(1e20);
  });

  it('reads many distinct exponent literals above 2^53 on the fast path, beside a plain one too (evt.time)', () => {
    const exponents = Array.from({ length: 20_000 }, (_, i) => `${i + 1}e${20 + (i % 280)}`);
    // 256 plain literals of distinct doubles (even integers above 2^53 are exact).
    const plains = Array.from({ length: 256 }, (_, i) => `"p${i}":${9007199254740992n + 2n * BigInt(i)}`);
    const cases: Array<[string, boolean]> = [
      [`{"e":[${exponents.join(',')}]}`, true],
      // A real alert's evt.time is one plain literal: 257 of them went the exact path (found by review).
      [`{"e":[${exponents.join(',')}],"evt.time":1781515904611094417}`, true],
      // Each lookup of a value no plain literal has may walk a bucket of up to 256: past 2^20 steps, the exact path.
      [`{"e":[${exponents.slice(0, 4096).join(',')}],${plains.join(',')}}`, true],
      [`{"e":[${exponents.slice(0, 4097).join(',')}],${plains.join(',')}}`, false],
    ];
    for (const [text, fast] of cases) {
      expect(parseJsonFast(text) !== undefined, text.slice(-60)).toBe(fast);
      expect(parseJson(text)).toEqual(parseJsonStrict(text));
    }
  });

  it('agrees with the strict parser on numbers above 2^53 written plain and as exponents, mixed', () => {
    // Doubles with two plain literals (2^53 + 1 and 2^53), and exponents of them and of others.
    const forms = [
      '9007199254740993',
      '9007199254740992',
      '9.007199254740992e15',
      '100000000000000000000',
      '1e20',
      '1.0e20',
      '-1E+20',
      '-100000000000000000000',
      '1.5e300',
      '1781515904611094417',
      '17815159046110944e2',
    ];
    let fast = 0;
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...forms), { maxLength: 8 }), (literals) => {
        const text = `[${literals.join(',')}]`;
        const value = parseJsonFast(text);
        if (value !== undefined) {
          fast++;
          expect(value).toEqual({ value: (parseJsonStrict(text) as { value: unknown }).value });
        }
        expect(parseJson(text)).toEqual(parseJsonStrict(text));
      }),
      { numRuns: 2000, seed: 42 },
    );
    // Meaningful only if many lists really took the fast path.
    expect(fast).toBeGreaterThan(200);
  });

  it('reads an integer beyond 2^53 exactly, and a number beyond the range of a double as null, as the strict parser does', () => {
    const cases: Array<[string, unknown]> = [
      [`[${'9'.repeat(300)}]`, [BigInt('9'.repeat(300))]],
      [`[${'9'.repeat(400)}]`, [null]],
      // A megabyte of digits: no bigint to convert (or to write back in the dedup key).
      [`{"output_fields":{"a":1${'0'.repeat(1_000_000)}}}`, { output_fields: { a: null } }],
      // jsoncpp (Falco 0.34-0.38) writes an infinite double so; nlohmann (0.39+) writes null.
      [
        '{"output_fields":{"r":1e+9999,"s":-1e+9999,"t":1e400,"u":0.5}}',
        { output_fields: { r: null, s: null, t: null, u: 0.5 } },
      ],
    ];
    for (const [text, value] of cases) {
      // The first holds every digit; the others say a number was beyond a double (its text is rewritten).
      const beyond = text.length > 310 || text.includes('e');
      expect(parseJson(text)).toEqual(beyond ? { ok: true, value, beyondDouble: true } : { ok: true, value });
      expect(parseJson(text)).toEqual(parseJsonStrict(text));
    }
  });

  it.each([
    ['object', (inner: string) => `{"a":${inner}}`],
    ['array', (inner: string) => `[${inner}]`],
  ])('allows the same nesting depth as the strict parser (%s)', (_, wrap) => {
    const nest = (levels: number) => {
      let text = '1';
      for (let i = 0; i < levels; i++) text = wrap(text);
      return text;
    };
    const deepest = nest(MAX_JSON_DEPTH);
    const tooDeep = nest(MAX_JSON_DEPTH + 1);

    expect(parseJsonFast(deepest)).toBeDefined();
    expect(parseJson(deepest)).toEqual(parseJsonStrict(deepest));
    expect(parseJson(deepest).ok).toBe(true);
    expect(parseJsonFast(tooDeep)).toEqual({ tooDeep: true });
    expect(parseJson(tooDeep)).toEqual(parseJsonStrict(tooDeep));
    expect(parseJson(tooDeep)).toMatchObject({ ok: false, message: expect.stringMatching(/deeper than 32/) });
  });

  it('rejects trailing data like the strict parser', () => {
    for (const text of ['{"a":1} x', '{"a":1}{"b":2}', '{"a":1}\n,']) {
      expect(parseJson(text).ok).toBe(false);
      expect(parseJson(text)).toEqual(parseJsonStrict(text));
    }
  });

  it('agrees with the strict parser on 3000 mutated samples (values, bigints, errors)', () => {
    const next = random(42);
    let fast = 0;
    for (let i = 0; i < 3000; i++) {
      let text = samples[i % samples.length]!;
      const rounds = 1 + Math.floor(next() * 3);
      for (let r = 0; r < rounds; r++) text = mutate(text, next);
      if (parseJsonFast(text)) fast++;
      expect(parseJson(text), text).toEqual(parseJsonStrict(text));
    }
    // The comparison means something only if many mutants really took the fast path.
    expect(fast).toBeGreaterThan(300);
  });
});

describe('nullBeyondDoubleInText', () => {
  it.each([
    ['{"a":1e+9999,"b":-1e+9999}', '{"a":null,"b":null}'],
    [`{"big":${'9'.repeat(400)},"ok":1e308}`, '{"big":null,"ok":1e308}'],
    // In strings, and numbers a double holds (exact integers above 2^53 included), nothing changes.
    [
      '{"s":"1e+9999","t":1781515904611094417,"u":[1e400, 2]}',
      '{"s":"1e+9999","t":1781515904611094417,"u":[null, 2]}',
    ],
    ['{"k\\"1e999":"\\\\","n":0.5}', '{"k\\"1e999":"\\\\","n":0.5}'],
  ])('writes %s as %s', (text, expected) => {
    expect(nullBeyondDoubleInText(text)).toBe(expected);
    expect(parseJson(nullBeyondDoubleInText(text))).toEqual({
      ok: true,
      value: (parseJson(text) as { value: unknown }).value,
    });
  });
});
