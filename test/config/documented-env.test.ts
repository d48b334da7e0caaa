import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envSchema } from '../../src/config/schema.js';
import { MAX_TIMER_MS } from '../../src/config/timer-ms.js';

const ROOT = join(import.meta.dirname, '../..');
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((file) => join('docs', file))].filter(
  (file) => file.endsWith('.md'),
);

/** Each configuration table row of the docs: the variables its first cell names, and its default cell. */
function configurationRows(): Array<{ file: string; names: string[]; defaultCell: string; line: string }> {
  return DOCS.flatMap((file) =>
    readFileSync(join(ROOT, file), 'utf8')
      .split('\n')
      .filter((line) => /^\| `[A-Z][A-Z0-9_]+`/.test(line))
      .map((line) => {
        const cells = line.split('|').map((cell) => cell.trim());
        const names = [...cells[1]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((match) => match[1]!);
        return { file, names, defaultCell: cells[2]!, line };
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

// Bounds every timer shares, which the Configuration section's introduction states once, and a port's.
const SHARED_MAXIMA = new Set([MAX_TIMER_MS, Math.floor(MAX_TIMER_MS / 1000), 65535]);

/**
 * The bounds a number setting states when it refuses a value below them (`must be a whole number
 * from 1 to 1000000`), with the words of its note that say the top in another unit (`7 days`).
 */
function statedRange(name: string): { min: number; max?: number; maxInWords?: string } | undefined {
  const field = envSchema.shape[name as keyof typeof envSchema.shape];
  const parsed = field.safeParse('-1');
  const message = parsed.success ? '' : (parsed.error.issues[0]?.message ?? '');
  const range = /must be a (?:whole )?number (?:of at least (\d+)|from (\d+) to (\d+))/.exec(message);
  if (!range) return undefined;
  const maxInWords = /\d+(?:\.\d+)? days/.exec(message)?.[0];
  if (range[1] !== undefined) return { min: Number(range[1]) };
  return { min: Number(range[2]), max: Number(range[3]), maxInWords };
}

/** The lengths a text setting states when it refuses one that is too short or too long. */
function statedLengths(name: string): string[] {
  const field = envSchema.shape[name as keyof typeof envSchema.shape];
  const refusals = ['x', 'x'.repeat(300)].flatMap((value) => {
    const parsed = field.safeParse(value);
    return parsed.success ? [] : parsed.error.issues.map((issue) => issue.message);
  });
  return refusals.flatMap((message) => {
    const lengths = /(?:at least (\d+)|(\d+)-(\d+)|at most (\d+)) characters/.exec(message);
    return lengths ? lengths.slice(1).filter((length) => length !== undefined) : [];
  });
}

// The form of every on/off variable, which the Configuration section's introduction states once.
const FLAG_VALUES = ['0', '1', 'false', 'true'];

/** The values a choice setting takes (none for a number, a text or an on/off variable). */
function statedChoices(name: string): string[] {
  const parsed = envSchema.shape[name as keyof typeof envSchema.shape].safeParse('not-a-choice');
  const issue = parsed.success ? undefined : parsed.error.issues[0];
  if (issue?.code !== 'invalid_value') return [];
  const values = issue.values.map(String);
  return [...values].sort().join() === FLAG_VALUES.join() ? [] : values;
}

/** The README rows that name `name` (where it has none, the docs' rows), commas of numbers dropped. */
function rowsNaming(rows: ReturnType<typeof configurationRows>, name: string): string[] {
  const naming = rows.filter((row) => row.names.includes(name));
  const inReadme = naming.filter((row) => row.file === 'README.md');
  return (inReadme.length > 0 ? inReadme : naming).map((row) => row.line.replace(/(\d),(?=\d{3})/g, '$1'));
}

/** Whether `text` shows `value` whole: `1000000` is not shown by `10000000`. */
const showsWhole = (text: string, value: string) =>
  new RegExp(`(^|[^\\w.])${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\w.])`).test(text);

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
  // A value past an unstated bound stops the start (exit 2): STORE_PENDING_MAX=2000000 was refused
  // with `from 1 to 1000000` while its row named no top.
  it.each(variables.filter((name) => statedRange(name) !== undefined))(
    'states the range %s takes in its row, where it is narrower than any number or timer',
    (name) => {
      const { min, max, maxInWords } = statedRange(name)!;
      for (const row of rowsNaming(rows, name)) {
        if (min > 1) expect(showsWhole(row, String(min)), `${name}: least value ${min} in ${row}`).toBe(true);
        if (max !== undefined && !SHARED_MAXIMA.has(max))
          expect(
            showsWhole(row, String(max)) || (maxInWords !== undefined && row.includes(maxInWords)),
            `${name}: greatest value ${max} in ${row}`,
          ).toBe(true);
      }
    },
  );

  // METRICS_TOKEN=short-token stopped the start (`must be at least 16 characters`) while its row
  // named no length.
  it.each(variables.filter((name) => statedLengths(name).length > 0))(
    'states the lengths %s takes in its row',
    (name) => {
      for (const row of rowsNaming(rows, name))
        for (const length of statedLengths(name))
          expect(showsWhole(row, length), `${name}: length ${length} in ${row}`).toBe(true);
    },
  );

  // TRIGGER_CANARY_KIND=event-generator was a choice no row named.
  it.each(variables.filter((name) => statedChoices(name).length > 0))(
    'names in its row every value %s takes',
    (name) => {
      for (const row of rowsNaming(rows, name))
        for (const choice of statedChoices(name))
          expect(row.includes(`\`${choice}\``), `${name}: \`${choice}\` in ${row}`).toBe(true);
    },
  );

  it('says in the Configuration section how an on/off variable is written', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('| Variable'));

    for (const value of FLAG_VALUES) expect(section).toContain(`\`${value}\``);
  });

  // A row naming several variables gives their defaults in its order (`10`, `60`), or none for all.
  it.each(rows.filter((row) => row.names.length > 1).map((row) => [row.names.join(', '), row] as const))(
    'gives each of %s the default the service has',
    (_names, { file, names, defaultCell }) => {
      if (/^(unset|\(none\))/.test(defaultCell)) {
        for (const name of names) expect(shownDefault(name), `${file}: ${name}`).toContain('unset');
        return;
      }
      const shown = [...defaultCell.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
      // Prose for what the service derives ("random per process"): nothing to compare.
      if (shown.length !== names.length) return;
      names.forEach((name, index) =>
        expect(shownDefault(name), `${file}: ${name} default cell ${JSON.stringify(defaultCell)}`).toContain(
          shown[index],
        ),
      );
    },
  );
});
