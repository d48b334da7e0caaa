import * as z from 'zod';
import { readConfigFile, SECRET_LINES, secretLines, secretLinesProblem } from './read-config-file.js';

// Letters, digits, '-' and '_' only: the secret is one URL path segment and must not need encoding.
export const pathSecret = z
  .string()
  .regex(/^[A-Za-z0-9_-]{16,128}$/, { error: 'must be 16-128 characters of A-Z a-z 0-9 _ -' })
  .optional();

/**
 * The path secrets in a file, one a line (`#` comments, blank lines skipped), checked; a problem
 * starts with `label` (the variable or option that named the file). The first is the one sensors
 * are given (`npm run deploy` writes it into Falco's URL); the others are still taken, so a secret
 * can be rotated without refusing the sensors not yet given the new one. A Kubernetes secret
 * mounted as a file usually ends in a newline.
 */
export function readSecretFile(
  file: string,
  label = 'INGEST_PATH_SECRET_FILE',
): { secrets: string[]; secret: string } | { problem: string } {
  const read = readConfigFile(label, file);
  if ('problem' in read) return read;
  const secrets = secretLines(read.text);
  if (secrets.length === 0) return { problem: `${label}: ${file} holds no secret` };
  const [tooMany] = secretLinesProblem(label, secrets.length, SECRET_LINES);
  if (tooMany !== undefined) return { problem: tooMany };
  for (const secret of secrets) {
    const checked = pathSecret.safeParse(secret);
    if (!checked.success) return { problem: `${label}: the secret ${checked.error.issues[0]?.message}` };
  }
  return { secrets, secret: secrets[0]! };
}
