import { describe, expect, it } from 'vitest';
import { verbatimJson } from '../../src/alerts/alert-sink.js';

describe('verbatimJson', () => {
  it("takes Falco's body as it is: one object from the first byte to the last, valid UTF-8, one line", () => {
    const body = Buffer.from(
      '{"rule":"Terminal shell in container","output":"é€😀","output_fields":{"evt.time":1}}',
    );
    expect(verbatimJson(body)).toBe(body);
  });

  it.each([
    ['leading whitespace', Buffer.from(' {"rule":"r"}')],
    ['trailing whitespace', Buffer.from('{"rule":"r"}\n')],
    ['a byte order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"rule":"r"}')])],
    ['a line feed between tokens', Buffer.from('{"rule":\n"r"}')],
    ['a carriage return between tokens', Buffer.from('{"rule":\r"r"}')],
    ['not an object', Buffer.from('["r"]')],
    ['too short to be one', Buffer.from('{')],
    ['a lone invalid byte', Buffer.from([...Buffer.from('{"a":"'), 0xff, ...Buffer.from('"}')])],
    // Three bytes of a four-byte sequence decode to one U+FFFD, also three bytes: the same length, other bytes.
    [
      'a cut four-byte sequence',
      Buffer.from([...Buffer.from('{"a":"'), 0xf0, 0x9f, 0x98, ...Buffer.from('("}')]),
    ],
  ])('leaves a body with %s to the text path', (_what, body) => {
    expect(verbatimJson(body)).toBeUndefined();
  });
});
