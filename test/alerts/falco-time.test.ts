import { describe, expect, it } from 'vitest';
import { parseFalcoTime } from '../../src/alerts/falco-time.js';

describe('parseFalcoTime', () => {
  it("reads Falco's 9-digit UTC timestamp to the millisecond", () => {
    expect(parseFalcoTime('2023-05-04T07:28:29.510366389Z')).toBe(Date.UTC(2023, 4, 4, 7, 28, 29, 510));
  });

  it('applies a numeric offset', () => {
    expect(parseFalcoTime('2023-05-04T09:28:29+02:00')).toBe(Date.UTC(2023, 4, 4, 7, 28, 29));
  });

  it.each([
    '2023-02-30T00:00:00Z',
    '2023-13-01T00:00:00Z',
    '2023-05-04 07:28:29Z',
    '07:28:29.510366389',
    '2023-05-04T24:00:00Z',
    '2023-05-04T07:28:29.5103663891Z',
    '',
  ])('rejects %j', (text) => {
    expect(parseFalcoTime(text)).toBeUndefined();
  });
});
