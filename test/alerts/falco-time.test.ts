import { describe, expect, it } from 'vitest';
import { parseFalcoTime } from '../../src/alerts/falco-time.js';

describe('parseFalcoTime', () => {
  it("reads Falco's 9-digit UTC timestamp to the millisecond", () => {
    expect(parseFalcoTime('2023-05-04T07:28:29.510366389Z')).toBe(Date.UTC(2023, 4, 4, 7, 28, 29, 510));
  });

  it('applies a numeric offset', () => {
    expect(parseFalcoTime('2023-05-04T09:28:29+02:00')).toBe(Date.UTC(2023, 4, 4, 7, 28, 29));
  });

  it('reads the lower-case t and z that RFC 3339 allows', () => {
    expect(parseFalcoTime('2023-05-04t07:28:29.510366389z')).toBe(Date.UTC(2023, 4, 4, 7, 28, 29, 510));
  });

  it('reads years before 100 as they are written (Date.UTC would make 0050 into 1950)', () => {
    const expected = new Date(0);
    expected.setUTCFullYear(50, 5, 1);
    expect(parseFalcoTime('0050-06-01T00:00:00.000000000Z')).toBe(expected.getTime());
    expect(new Date(parseFalcoTime('0050-06-01T00:00:00Z')!).toISOString()).toBe('0050-06-01T00:00:00.000Z');
  });

  it('reads a fraction of any length, as RFC 3339 allows (Falco writes 9 digits)', () => {
    expect(parseFalcoTime('2023-05-04T07:28:29.5Z')).toBe(Date.UTC(2023, 4, 4, 7, 28, 29, 500));
    expect(parseFalcoTime('2023-05-04T07:28:29.5103663891Z')).toBe(Date.UTC(2023, 4, 4, 7, 28, 29, 510));
    expect(parseFalcoTime(`2023-05-04T07:28:29.${'9'.repeat(40)}Z`)).toBe(
      Date.UTC(2023, 4, 4, 7, 28, 29, 999),
    );
  });

  it('reads a leap second as the first second of the next minute', () => {
    expect(parseFalcoTime('2016-12-31T23:59:60.5Z')).toBe(Date.UTC(2017, 0, 1, 0, 0, 0, 500));
    // RFC 3339 section 5.8's own example: the same leap second written with an offset.
    expect(parseFalcoTime('1990-12-31T15:59:60-08:00')).toBe(Date.UTC(1991, 0, 1, 0, 0, 0));
  });

  // A leap second is only ever 23:59:60 UTC (RFC 3339, section 5.7), and Falco never writes
  // second 60 at all (strftime of gmtime, which POSIX time gives no leap seconds).
  it.each(['2023-05-04T07:28:60Z', '2016-12-31T23:59:60+01:00', '2016-12-31T23:58:60Z'])(
    'rejects second 60 outside 23:59 UTC: %j',
    (text) => {
      expect(parseFalcoTime(text)).toBeUndefined();
    },
  );

  it.each([
    '2023-05-04T07:28:61Z',
    '2023-02-30T00:00:00Z',
    '2023-13-01T00:00:00Z',
    '2023-05-04 07:28:29Z',
    '07:28:29.510366389',
    '2023-05-04T24:00:00Z',
    '2023-05-04T07:28:29.Z',
    '',
  ])('rejects %j', (text) => {
    expect(parseFalcoTime(text)).toBeUndefined();
  });
});
