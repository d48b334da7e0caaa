import { describe, expect, it } from 'vitest';
import { pointerInText } from '../../src/alerts/json-text-pointer.js';
import { parseJson } from '../../src/alerts/parse-json.js';

describe('pointerInText', () => {
  it.each([
    ['a top-level key', '{"rule":"a","time":"t","rule":"b"}', '/rule'],
    ['a key repeated with the same value', '{"priority":"Warning","priority":"Warning"}', '/priority'],
    [
      'a key inside output_fields',
      '{"rule":"r","output_fields":{"a":1,"b":[1,{}],"a":1}}',
      '/output_fields/a',
    ],
    ['the same key in two objects is no repeat', '{"a":{"k":1},"b":{"k":1},"b":2}', '/b'],
    ['a key in an object inside a list', '{"x":[{"k":1},{"k":1,"k":2}]}', '/x/1/k'],
    ['a key written with an escape', '{"a":1,"\\u0061":2}', '/a'],
    ['a key with / and ~ (RFC 6901 escapes)', '{"o":{"a/b~c":1,"a/b~c":2}}', '/o/a~1b~0c'],
    ['strings holding quotes, colons and brackets', '{"a":"\\"}:,{","b":"[","a":0}', '/a'],
  ])('finds the first repeated key: %s', (_name, text, pointer) => {
    expect(pointerInText(text, { repeatedKey: true })).toBe(pointer);
  });

  it('finds the first object or array at a depth', () => {
    expect(pointerInText('{"a":[1,{"b":[[]]}]}', { depth: 3 })).toBe('/a/1/b');
    expect(pointerInText('[[],[[1]]]', { depth: 2 })).toBe('/1/0');
    expect(pointerInText('{"a":[]}', { depth: 0 })).toBe('');
  });

  it.each([
    ['inside a value string', '{"o":{"k":"ab', '/o/k'],
    ['inside a key string (the object is named)', '{"o":{"k', '/o'],
    ['after a comma in an object', '{"o":{"k":1,', '/o'],
    ['after a comma in a list', '{"l":[1,2,', '/l/2'],
    ['after an empty object and list closed', '{"a":{},"b":[],"c":', '/c'],
    ['after a colon', '{"output_fields":{"x":', '/output_fields/x'],
    ['at the start', 'nope', ''],
  ])('names the value being read at a position: %s', (_name, text, pointer) => {
    expect(pointerInText(text + '!tail', { position: text.length })).toBe(pointer);
  });

  it('is the root when nothing matches', () => {
    expect(pointerInText('{"a":1,"b":{"a":1}}', { repeatedKey: true })).toBe('');
  });
});

describe('parseJson names where the text goes wrong', () => {
  it.each([
    ['a raw tab in a string', '{"rule":"r","output":"a\tb"}', '/output'],
    ['NaN', '{"output_fields":{"x":NaN}}', '/output_fields/x'],
    [
      'a body cut off inside output_fields',
      '{"rule":"r","output_fields":{"proc.cmdline":"cat /et',
      '/output_fields/proc.cmdline',
    ],
    ['a trailing comma in tags', '{"tags":["a",]}', '/tags/1'],
    ['a key repeated with another value', '{"rule":"a","rule":"b"}', '/rule'],
    ['a key repeated with the same value', '{"output_fields":{"k":1,"k":1}}', '/output_fields/k'],
    ['nesting past 32 levels', `{"x":${'['.repeat(40)}${']'.repeat(40)}}`, `/x${'/0'.repeat(31)}`],
    ['trailing data', '{"rule":"r"}{"rule":"r"}', ''],
    ['not JSON at all', 'rule=r', ''],
  ])('%s', (_name, text, pointer) => {
    expect(parseJson(text)).toMatchObject({ ok: false, pointer });
  });

  it('names nesting deep enough to exhaust the stack at its 33rd level', () => {
    const text = `{"x":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    expect(parseJson(text)).toMatchObject({ ok: false, pointer: `/x${'/0'.repeat(31)}` });
  });
});
