import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One fixture body with the verdict and labels its manifest expects. */
export interface FalcoFixture {
  file: string;
  expect: 'accept' | 'reject';
  rule: string | null;
  priority: string | null;
  source: string | null;
  note: string;
  /** For a rejected body: the JSON pointer its problem must name ('' for the body as a whole). */
  pointer?: string;
  body: Buffer;
}

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'falco');

/** The shared real-format samples (`samples/`) and our own shapes from http-output.md (`own/`). */
export function loadFalcoFixtures(set: 'samples' | 'own'): FalcoFixture[] {
  const folder = join(FIXTURES, set);
  const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as Omit<
    FalcoFixture,
    'body'
  >[];
  return manifest.map((entry) => ({ ...entry, body: readFileSync(join(folder, entry.file)) }));
}

/** A sample body by file name under fixtures/falco. */
export function readFixture(path: string): Buffer {
  return readFileSync(join(FIXTURES, path));
}

/**
 * An alert as Falco 0.39+ sends it with json_include_output_property: false (and 0.41+ without
 * output_fields): two events of one rule in one millisecond differ only in `message`.
 */
export function messageOnlyAlert(message: string): string {
  return JSON.stringify({
    hostname: 'node-a',
    message,
    priority: 'Notice',
    rule: 'Audit event without output',
    source: 'k8s_audit',
    time: '2026-06-15T09:31:44.207000000Z',
  });
}
