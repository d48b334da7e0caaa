import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { PATH_SECRET_PLACEHOLDER } from './check-falco-url.js';

/** A values file that exists for one deploy; remove() deletes it and its folder. */
export interface TemporaryValues {
  file: string;
  remove(): void;
}

/**
 * Writes Falco's URL with the secret in place of the placeholder to a values file only this user
 * can read (0600, in a fresh 0700 folder), so the secret reaches helm without being on a command
 * line that `ps` shows.
 */
export function writeIngestUrlValues(url: string, secret: string): TemporaryValues {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'falco-ingest-url-'));
  const file = path.join(dir, 'values.yaml');
  const values = { falco: { http_output: { url: url.replaceAll(PATH_SECRET_PLACEHOLDER, secret) } } };
  writeFileSync(file, stringify(values), { mode: 0o600, flag: 'wx' });
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
