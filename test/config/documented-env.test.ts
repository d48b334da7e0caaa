import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envSchema } from '../../src/config/schema.js';

const ROOT = join(import.meta.dirname, '../..');
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((file) => join('docs', file))].filter(
  (file) => file.endsWith('.md'),
);

/** Each configuration table row of the docs: the variables its first cell names, and its default cell. */
function configurationRows(): Array<{ file: string; names: string[]; defaultCell: string }> {
  return DOCS.flatMap((file) =>
    readFileSync(join(ROOT, file), 'utf8')
      .split('\n')
      .filter((line) => /^\| `[A-Z][A-Z0-9_]+`/.test(line))
      .map((line) => {
        const cells = line.split('|').map((cell) => cell.trim());
        const names = [...cells[1]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((match) => match[1]!);
        return { file, names, defaultCell: cells[2]! };
      }),
  );
}

// Defaults the docs write in the unit a person sets, where the schema holds what it is parsed to.
const WRITTEN_AS: Record<string, string> = { STORE_RETENTION: '24h' };

/** The default as the docs' cell should show it: `unset`/`(none)` for none, lists comma-separated. */
function shownDefault(name: string): string[] {
  if (name in WRITTEN_AS) return [WRITTEN_AS[name]!];
  const parsed = envSchema.shape[name as keyof typeof envSchema.shape].safeParse(undefined);
  const value: unknown = parsed.success ? parsed.data : undefined;
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return ['unset', '(none)'];
  return [Array.isArray(value) ? String(value[0]) : String(value)];
}

describe('the configuration the docs describe', () => {
  const rows = configurationRows();
  const variables = Object.keys(envSchema.shape);

  it('documents every variable the service reads in a configuration table (README.md or docs/)', () => {
    const documented = new Set(rows.flatMap((row) => row.names));

    expect(variables.filter((name) => !documented.has(name))).toEqual([]);
  });

  it.each(variables)('gives %s the default the service has, where its row names it alone', (name) => {
    const alone = rows.filter((row) => row.names.length === 1 && row.names[0] === name);
    for (const { file, defaultCell } of alone) {
      // `1835008` or `1,835,008`; prose such as "a quarter of ..." for what the service derives.
      const cell = defaultCell.replaceAll(',', '');
      const derived = !cell.startsWith('`') && !/^(unset|\(none\))/.test(cell);
      if (derived) continue;
      expect(
        shownDefault(name).some((shown) =>
          // The value whole: `100000` does not show a default of 10000.
          new RegExp(`(^|[^\\w.])${shown.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\w.])`).test(cell),
        ),
        `${file}: ${name} default cell ${JSON.stringify(defaultCell)}`,
      ).toBe(true);
    }
  });
});
