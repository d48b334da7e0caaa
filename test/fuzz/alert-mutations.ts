import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';

/** One fuzz request: the bytes of the body, its Content-Type (or none) and the ingest path. */
export interface FuzzCase {
  body: Buffer;
  contentType: string | undefined;
  path: string;
}

const SAMPLES_DIR = join(import.meta.dirname, '../fixtures/falco/samples/valid');

/** The real-format Falco bodies every mutation starts from, as Falco wrote them. */
export function loadSampleBodies(): string[] {
  return readdirSync(SAMPLES_DIR)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => readFileSync(join(SAMPLES_DIR, file), 'utf8'));
}

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'];
const TOP_KEYS = [
  'hostname',
  'output',
  'output_fields',
  'priority',
  'rule',
  'source',
  'tags',
  'time',
  'message',
];
// Numbers JavaScript and JSON disagree about, or that overflow every numeric type.
const HUGE_NUMBERS = [
  '1e400',
  '-1e400',
  '9'.repeat(400),
  '-0',
  '1.5e-400',
  '18446744073709551616',
  '0.1e-999999',
];
// Invalid UTF-8: a lone continuation byte, an overlong NUL, a CESU-8 surrogate, a truncated sequence, 0xFF.
const INVALID_UTF8 = [
  [0x80],
  [0xc0, 0x80],
  [0xed, 0xa0, 0x80],
  [0xe2, 0x82],
  [0xff],
  [0xf4, 0x90, 0x80, 0x80],
];

// Strings of every kind: lone surrogates (unit 'binary'), controls, RTL marks, emoji, very long.
const weirdString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('', '\u0000', '\ud800', '\udfff', '\u202e', '<script>alert(1)</script>', '${jndi:x}'),
  fc.nat({ max: 200_000 }).map((length) => 'A'.repeat(length)),
);

const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  weirdString,
  fc.jsonValue({ maxDepth: 3 }),
  fc.double(),
  fc.constantFrom(null, true, -1, Number.MAX_SAFE_INTEGER, {}, [], [{}], [[1]]),
  fc.array(weirdString, { maxLength: 5 }),
);

type ObjectMutation = (alert: Record<string, unknown>) => void;
type TextMutation = (text: string) => string;
type ByteMutation = (bytes: Buffer) => Buffer;

const objectMutation: fc.Arbitrary<ObjectMutation> = fc.oneof(
  fc
    .tuple(fc.constantFrom(...TOP_KEYS), weirdValue)
    .map(([key, value]) => (alert: Record<string, unknown>) => {
      // Cloned: constants such as `{}` are shared between generated cases.
      alert[key] = structuredClone(value);
    }),
  fc.constantFrom(...TOP_KEYS).map((key) => (alert: Record<string, unknown>) => {
    delete alert[key];
  }),
  fc
    .tuple(fc.oneof(fc.constantFrom(...PROTO_KEYS, 'evt.time'), weirdString), weirdValue)
    .map(([key, value]) => (alert: Record<string, unknown>) => {
      const fields = alert.output_fields;
      const target = fields && typeof fields === 'object' && !Array.isArray(fields) ? { ...fields } : {};
      // defineProperty, so even `__proto__` becomes an own key that JSON.stringify writes out.
      Object.defineProperty(target, key, {
        value: structuredClone(value),
        enumerable: true,
        configurable: true,
        writable: true,
      });
      alert.output_fields = target;
    }),
);

// Inserts `insert` right after the first `{` at or after a fractional position of the text.
function insertAfterBrace(text: string, at: number, insert: string): string {
  const index = text.indexOf('{', Math.floor(at * text.length));
  const brace = index === -1 ? text.indexOf('{') : index;
  return brace === -1 ? text : text.slice(0, brace + 1) + insert + text.slice(brace + 1);
}

// Where an attacker can put a value: an unknown top-level key (kept as it is), a new
// output_fields key, or the tags list.
type Placement = 'unknown-key' | 'output-field' | 'tags';
function placeValue(text: string, where: Placement, key: string, value: string): string {
  if (where === 'output-field')
    return text.replace('"output_fields":{', `"output_fields":{"${key}":${value},`);
  if (where === 'tags') return text.replace(/"tags":\[[^\]]*\]/, `"tags":${value}`);
  return insertAfterBrace(text, 0, `"${key}":${value},`);
}

// Bodies stay under the 1 MiB body cap (a 413 is not what these cases test): a mutation that
// would pass this leaves the text as it was.
const MAX_FUZZ_BODY_BYTES = 1_000_000;
const withinCap = (before: string, after: string) =>
  Buffer.byteLength(after) <= MAX_FUZZ_BODY_BYTES ? after : before;

const repeatJoined = (item: string, count: number) => new Array<string>(count).fill(item).join(',');
// Deep and wide JSON values written as text (cheap to build), each well under the 1 MiB body cap:
// the shapes that once overflowed the stack (a 300,000-item list under an unknown key gave 500).
const extremeValue: fc.Arbitrary<string> = fc.oneof(
  fc.nat({ max: 400_000 }).map((count) => `[${repeatJoined('0', count)}]`),
  fc
    .nat({ max: 60_000 })
    .map((count) => `{${Array.from({ length: count }, (_, i) => `"k${i}":0`).join(',')}}`),
  fc.nat({ max: 300_000 }).map((depth) => '['.repeat(depth) + '0' + ']'.repeat(depth)),
  fc.nat({ max: 100_000 }).map((depth) => '{"a":'.repeat(depth) + 'null' + '}'.repeat(depth)),
  fc
    .tuple(fc.nat({ max: 20_000 }), fc.nat({ max: 40 }))
    .map(([count, depth]) => `[${repeatJoined('['.repeat(depth) + '1' + ']'.repeat(depth), count)}]`),
  fc.nat({ max: 100_000 }).map((count) => `[${repeatJoined('{}', count)}]`),
);
const extremeMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom<Placement>('unknown-key', 'output-field', 'tags'),
      fc.constantFrom('x', 'uuid', 'k8s.pod.labels', ''),
      extremeValue,
    )
    .map(
      ([where, key, value]) =>
        (text: string) =>
          withinCap(text, placeValue(text, where, key, value)),
    ),
  // Many small unknown top-level keys instead of one big value.
  fc
    .nat({ max: 50_000 })
    .map(
      (count) => (text: string) =>
        withinCap(
          text,
          insertAfterBrace(text, 0, Array.from({ length: count }, (_, i) => `"u${i}":${i},`).join('')),
        ),
    ),
);

const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  extremeMutation,
  // A top-level or nested key written twice.
  fc.tuple(fc.constantFrom(...TOP_KEYS, 'evt.time'), fc.double({ min: 0, max: 1, noNaN: true })).map(
    ([key, at]) =>
      (text: string) =>
        insertAfterBrace(text, at, `"${key}":"twice",`),
  ),
  // Prototype keys with object values, at the top or inside output_fields.
  fc.tuple(fc.constantFrom(...PROTO_KEYS), fc.boolean()).map(([key, top]) => (text: string) => {
    const payload = `"${key}":{"polluted":"yes","prototype":{"polluted":"yes"}},`;
    return top
      ? insertAfterBrace(text, 0, payload)
      : text.replace('"output_fields":{', `"output_fields":{${payload}`);
  }),
  fc.constantFrom(...HUGE_NUMBERS).map((number) => (text: string) => text.replace(/-?\d{4,}/, number)),
  fc.nat({ max: 20_000 }).map((depth) => (text: string) => {
    const nested = '['.repeat(depth) + ']'.repeat(depth);
    return text.replace('"output_fields":{', `"output_fields":{"deep":${nested},`);
  }),
  fc.nat({ max: 3 }).map((count) => (text: string) => text + ' {}'.repeat(count) + (count ? '' : 'x')),
);

const position = fc.double({ min: 0, max: 1, noNaN: true });
const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  position.map((at) => (bytes: Buffer) => bytes.subarray(0, Math.floor(at * bytes.length))),
  fc.tuple(position, fc.constantFrom(...INVALID_UTF8)).map(([at, bad]) => (bytes: Buffer) => {
    const cut = Math.floor(at * bytes.length);
    return Buffer.concat([bytes.subarray(0, cut), Buffer.from(bad), bytes.subarray(cut)]);
  }),
  fc.tuple(position, fc.integer({ min: 0, max: 255 })).map(([at, value]) => (bytes: Buffer) => {
    const copy = Buffer.from(bytes);
    if (copy.length > 0) copy[Math.min(copy.length - 1, Math.floor(at * copy.length))] = value;
    return copy;
  }),
);

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'text/plain', undefined) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('application/x-www-form-urlencoded', 'multipart/form-data', '*/*'),
  },
);
const ingestPath = fc.constantFrom('/alerts', '/');

/** A mutated real-format alert, or (rarely) random bytes, as one POST. */
export function fuzzCase(samples: string[]): fc.Arbitrary<FuzzCase> {
  const mutated = fc
    .record({
      sample: fc.constantFrom(...samples),
      objects: fc.array(objectMutation, { maxLength: 3 }),
      // Mostly structural mutations, so many bodies get past JSON parsing into validation and storage.
      texts: fc.oneof(
        { weight: 2, arbitrary: fc.constant<never[]>([]) },
        fc.array(textMutation, { maxLength: 2 }),
      ) as fc.Arbitrary<TextMutation[]>,
      bytes: fc.oneof(
        { weight: 3, arbitrary: fc.constant<never[]>([]) },
        fc.array(byteMutation, { maxLength: 2 }),
      ) as fc.Arbitrary<ByteMutation[]>,
    })
    .map(({ sample, objects, texts, bytes }) => {
      let text = sample;
      if (objects.length > 0) {
        const alert = JSON.parse(sample) as Record<string, unknown>;
        for (const mutate of objects) mutate(alert);
        text = JSON.stringify(alert);
      }
      for (const mutate of texts) text = mutate(text);
      return bytes.reduce<Buffer>((body, mutate) => mutate(body), Buffer.from(text, 'utf8'));
    });
  const body = fc.oneof(
    { weight: 9, arbitrary: mutated },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 4096 }).map((bytes): Buffer => Buffer.from(bytes)) },
  );
  return fc.record({ body, contentType, path: ingestPath });
}
