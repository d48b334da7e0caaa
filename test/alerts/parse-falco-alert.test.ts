import { describe, expect, it } from 'vitest';
import { MAX_BODY_SHAPE } from '../../src/alerts/alert-bounds.js';
import { parseFalcoAlert } from '../../src/alerts/parse-falco-alert.js';
import { loadFalcoFixtures, readFixture } from '../helpers/fixtures.js';

const fixtures = [...loadFalcoFixtures('samples'), ...loadFalcoFixtures('own')];

describe('parseFalcoAlert over every fixture', () => {
  it.each(fixtures.filter((f) => f.expect === 'accept').map((f) => [f.file, f] as const))(
    'accepts %s with its rule and priority',
    (_file, fixture) => {
      const result = parseFalcoAlert(fixture.body.toString('utf8'));
      expect(result.ok ? undefined : result.detail).toBeUndefined();
      if (!result.ok) return;
      expect(result.alert.rule).toBe(fixture.rule);
      expect(result.alert.priority).toBe(fixture.priority);
    },
  );

  it.each(
    fixtures
      .filter((f) => f.expect === 'reject' && f.file.endsWith('.json'))
      .map((f) => [f.file, f] as const),
  )('rejects %s naming the field its manifest gives', (_file, fixture) => {
    const result = parseFalcoAlert(fixture.body.toString('utf8'));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.length).toBeGreaterThan(0);
    if (fixture.pointer !== undefined)
      expect(result.problems.map((p) => p.pointer)).toContain(fixture.pointer);
  });
});

describe('parseFalcoAlert', () => {
  const sample = () =>
    JSON.parse(readFixture('samples/valid/093-latest-terminal-shell-in-container.json').toString()) as Record<
      string,
      unknown
    >;

  it('keeps every digit of an ns timestamp above 2^53 as a bigint', () => {
    const result = parseFalcoAlert(
      readFixture('samples/valid/001-demo-034-terminal-shell-in-container.json').toString(),
    );
    expect(result.ok && result.alert.output_fields?.['evt.time']).toBe(1683185309510366389n);
  });

  it('keeps small numbers, -1 and doubles as plain numbers', () => {
    const result = parseFalcoAlert(
      readFixture('own/valid/v18-numbers-uint64-negative-doubles.json').toString(),
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const fields = result.alert.output_fields ?? {};
    expect(fields['user.loginuid']).toBe(-1);
    expect(fields['double']).toBe(4571.25);
    expect(fields['big.u64']).toBe(18446744073709551615n);
    expect(fields['neg.big']).toBe(-9223372036854775808n);
  });

  it('names the pointer of each bad field', () => {
    const body = {
      ...sample(),
      rule: '',
      priority: 'notice',
      tags: ['ok', 3],
      output_fields: { a: { b: 1 } },
    };
    const result = parseFalcoAlert(JSON.stringify(body));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toBe('invalid_alert');
    expect(result.problems.map((p) => p.pointer)).toEqual([
      '/rule',
      '/priority',
      '/tags/1',
      '/output_fields/a',
    ]);
  });

  it('says a missing required key is required', () => {
    const { time: _time, ...body } = sample();
    const result = parseFalcoAlert(JSON.stringify(body));
    expect(result.ok ? [] : result.problems).toEqual([{ pointer: '/time', detail: 'is required' }]);
  });

  it('escapes / and ~ in pointers (RFC 6901)', () => {
    const body = { ...sample(), output_fields: { 'a/b~c': { x: 1 } } };
    const result = parseFalcoAlert(JSON.stringify(body));
    expect(result.ok ? [] : result.problems.map((p) => p.pointer)).toEqual(['/output_fields/a~1b~0c']);
  });

  it('refuses a duplicate key with reason duplicate_key', () => {
    const text = readFixture('own/invalid/i25-duplicate-key-rule.json').toString();
    expect(parseFalcoAlert(text)).toMatchObject({ ok: false, reason: 'duplicate_key' });
  });

  it('refuses top-level __proto__ and constructor with reason forbidden_key and leaves Object.prototype alone', () => {
    for (const file of [
      'own/invalid/i28-top-level-proto.json',
      'own/invalid/i29-top-level-constructor.json',
    ]) {
      expect(parseFalcoAlert(readFixture(file).toString())).toMatchObject({
        ok: false,
        reason: 'forbidden_key',
      });
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('keeps an output_fields key named __proto__ as an own data property', () => {
    const result = parseFalcoAlert(
      readFixture('own/valid/v12-output-fields-proto-keys-as-data.json').toString(),
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const fields = result.alert.output_fields ?? {};
    expect(Object.keys(fields)).toContain('__proto__');
    expect(Object.getOwnPropertyDescriptor(fields, '__proto__')?.value).toBe('attacker');
    expect(Object.getPrototypeOf(fields)).toBe(Object.prototype);
  });

  // The key ends in an escaped backslash right before its closing quote: the scan that counts keys
  // (one colon per key outside strings) must close the string there, or a repeat goes unseen.
  it('keeps an append_output key with an escaped quote and a trailing backslash as Falco 0.40.0 wrote it', () => {
    const result = parseFalcoAlert(
      readFixture('own/valid/v56-real-0400-message-iso8601-extra-fields-escaped-key.json').toString(),
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const fields = result.alert.output_fields ?? {};
    expect(fields['weird "key"\\']).toBe('cat /etc/shadow é✓ \u0001\u001b\u007f \u2028 a"b\\ c:d,{}');
    expect(fields['evt.time.iso8601']).toBe(1796613500695838022n);
    expect(Object.getOwnPropertyDescriptor(fields, '__proto__')?.value).toBe('x');
  });

  it('keeps unknown top-level keys such as falcosidekick uuid', () => {
    const result = parseFalcoAlert(readFixture('own/valid/v11-extra-top-level-uuid.json').toString());
    expect(result.ok && result.alert['uuid']).toBe('5b3c2a8e-7d6f-4e1a-9c0b-2f4d6e8a1b3c');
  });

  it('turns nesting deep enough to exhaust the parser into malformed_json, not an exception', () => {
    const text = readFixture('own/invalid/i33-deep-nesting.json').toString();
    expect(parseFalcoAlert(text)).toMatchObject({ ok: false });
  });

  it('refuses trailing data after the object', () => {
    expect(parseFalcoAlert(readFixture('own/invalid/i26-trailing-data.json').toString())).toMatchObject({
      ok: false,
      reason: 'malformed_json',
    });
  });

  it('names at most 20 problems, saying how many more there were', () => {
    const fields = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`f${i}`, { bad: i }]));
    const result = parseFalcoAlert(JSON.stringify({ ...sample(), output_fields: fields }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toHaveLength(20);
    expect(result.detail).toMatch(/\(and 80 more\)$/);
  });

  it('refuses oversized lists before validating each item', () => {
    const result = parseFalcoAlert(
      JSON.stringify({ ...sample(), tags: Array.from({ length: 100_000 }, () => 1) }),
    );
    expect(result.ok ? [] : result.problems).toEqual([
      { pointer: '/tags', detail: 'must have at most 512 items, got 100000' },
    ]);
  });

  it('names output_fields with more keys than an alert holds, and refuses far more from the scan alone', () => {
    const fields = (count: number) =>
      Object.fromEntries(Array.from({ length: count }, (_, i) => [`field.${i}`, [i]]));
    const over = parseFalcoAlert(JSON.stringify({ ...sample(), output_fields: fields(4097) }));
    expect(over.ok ? [] : over.problems).toEqual([
      { pointer: '/output_fields', detail: 'must have at most 4096 keys, got 4097' },
    ]);
    // 150,000 keys: refused where the scan passed MAX_BODY_SHAPE, naming where.
    expect(MAX_BODY_SHAPE).toBeLessThan(150_000);
    const far = parseFalcoAlert(JSON.stringify({ ...sample(), output_fields: fields(150_000) }));
    expect(far).toMatchObject({
      ok: false,
      reason: 'invalid_alert',
      problems: [{ pointer: expect.stringMatching(/^\/output_fields\/field\.\d+$/) }],
    });
  });
});
