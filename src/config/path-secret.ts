import * as z from 'zod';
import { readConfigFile } from './read-config-file.js';

// Letters, digits, '-' and '_' only: the secret is one URL path segment and must not need encoding.
export const pathSecret = z
  .string()
  .regex(/^[A-Za-z0-9_-]{16,128}$/, { error: 'must be 16-128 characters of A-Z a-z 0-9 _ -' })
  .optional();

/**
 * The path secret in a file, checked; a problem starts with `label` (the variable or option that
 * named the file). A Kubernetes secret mounted as a file usually ends in a newline.
 */
export function readSecretFile(
  file: string,
  label = 'INGEST_PATH_SECRET_FILE',
): { secret?: string; problem?: string } {
  const read = readConfigFile(label, file);
  if ('problem' in read) return read;
  const secret = read.text.trim();
  const checked = pathSecret.safeParse(secret);
  if (!checked.success) return { problem: `${label}: the secret ${checked.error.issues[0]?.message}` };
  return { secret };
}
