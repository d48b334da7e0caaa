import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

/** Every `.ts` file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

// A prom-client metric is made with `name: 'falco_…'`; a counter of refusals by reason with
// createReasonCounter(registry, 'falco_…', …).
const MADE = [
  /\bname: '(falco_[a-z0-9_]+)'/g,
  /createReasonCounter(?:<[^>]*>)?\(\s*\w+,\s*'(falco_[a-z0-9_]+)'/g,
];

/** The metric names the service registers, and the file of each. */
function registeredNames(): Map<string, string> {
  const names = new Map<string, string>();
  for (const file of sources(join(ROOT, 'src')))
    for (const made of MADE)
      for (const match of readFileSync(file, 'utf8').matchAll(made))
        names.set(match[1]!, relative(ROOT, file));
  return names;
}

/** The names README's metrics table lists in its first column. */
function documentedNames(): Set<string> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('\n## Metrics\n'), readme.indexOf('\n## Configuration\n'));
  const rows = table.split('\n').filter((line) => line.startsWith('| `'));
  return new Set(
    rows.flatMap((row) => [...row.split('|')[1]!.matchAll(/`(falco_[a-z0-9_]+)`/g)].map((m) => m[1]!)),
  );
}

describe("README's metrics table", () => {
  const registered = registeredNames();
  const documented = documentedNames();

  it('finds the metrics it checks (the scan reads the source as it is written)', () => {
    expect(registered.size).toBeGreaterThan(30);
    expect(registered.get('falco_alerts_total')).toBe('src/metrics/alert-metrics.ts');
    expect(registered.get('falco_ingest_shed_total')).toBe('src/http/inflight-bodies.ts');
  });

  it('lists every metric the service registers', () => {
    const missing = [...registered]
      .filter(([name]) => !documented.has(name))
      .map(([name, file]) => `${name} (${file})`);
    expect(missing).toEqual([]);
  });

  it('lists no metric the service does not register', () => {
    expect([...documented].filter((name) => !registered.has(name))).toEqual([]);
  });
});
