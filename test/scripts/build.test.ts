import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildService } from '../helpers/spawn-service.js';

describe('scripts/build.mjs', () => {
  let source = '';
  beforeAll(async () => {
    source = readFileSync(await buildService('ascii'), 'utf8');
  }, 120_000);

  it('writes an all-ASCII bundle, so V8 holds its source one byte per character', () => {
    expect(source.match(/[^\0-\x7f]/gu) ?? []).toEqual([]);
    // Characters in strings and patterns are escapes now (label-cap.ts's replacement character).
    expect(source).toMatch(/\\ufffd/i);
  });

  // On Node 24 an ES import of node:http runs its lazy getters, which load undici (50 ms of the start).
  it("imports Node's built-ins with require(): its one ES import is the createRequire the others use", () => {
    const imports = source.match(/^import\b.*$/gmu) ?? [];
    expect(imports).toEqual(["import { createRequire as __createRequire } from 'node:module';"]);
    expect(source).toContain('require("node:http")');
  });

  // zod's `z` namespace object holds every locale's messages (360 KB of source); `import * as z` lets them go.
  it("leaves out zod's locales other than English", () => {
    expect(source).toContain('node_modules/zod/v4/locales/en.js');
    expect(source).not.toContain('node_modules/zod/v4/locales/de.js');
  });
});
