import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildService } from '../helpers/spawn-service.js';

describe('scripts/build.mjs', () => {
  it('writes an all-ASCII bundle, so V8 holds its source one byte per character', async () => {
    const source = readFileSync(await buildService('ascii'), 'utf8');
    expect(source.match(/[^\0-\x7f]/gu) ?? []).toEqual([]);
    // Characters in strings and patterns are escapes now (label-cap.ts's replacement character).
    expect(source).toMatch(/\\ufffd/i);
  }, 120_000);
});
