import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createAlertIds, formatAlertId, parseAlertId } from '../../src/alerts/alert-ids.js';

describe('alert ids', () => {
  it('are RFC 9562 version 8 UUIDs: a random prefix per generator, then a counter', () => {
    const ids = createAlertIds();
    const made = Array.from({ length: 1000 }, () => ids.next());
    expect(new Set(made).size).toBe(1000);
    for (const id of made) {
      expect(z.uuid({ version: 'v8' }).safeParse(id).success).toBe(true);
      expect(id.slice(0, 24)).toBe(made[0]!.slice(0, 24));
    }
    expect(parseAlertId(made[999]!)).toEqual({ prefix: made[0]!.slice(0, 24), counter: 999 });
    expect(made[0]).not.toBe(createAlertIds().next());
  });

  it('turns back into the same id from its parts, and parses no other shape', () => {
    const id = createAlertIds((size) => Buffer.alloc(size, 0xff)).next();
    expect(id).toBe('ffffffff-ffff-8fff-bfff-000000000000');
    const parts = parseAlertId(id)!;
    expect(formatAlertId(parts.prefix, parts.counter + 0x1234)).toBe('ffffffff-ffff-8fff-bfff-000000001234');
    for (const other of [
      'id-1',
      '0193a1b2-c3d4-4e5f-9a6b-000000000001',
      'FFFFFFFF-FFFF-8FFF-BFFF-000000000000',
    ])
      expect(parseAlertId(other)).toBeUndefined();
  });
});
