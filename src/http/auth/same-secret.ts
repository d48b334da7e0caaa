import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * The one comparison of a presented secret (token, path secret, signature) with an expected one.
 * Hashing first gives equal lengths, so neither the content nor the length leaks through timing.
 */
export function sameSecret(given: string, expected: string): boolean {
  return findSecret(given, [expected]) !== undefined;
}

/**
 * The expected secret `given` equals, compared with every candidate so the time says nothing about
 * which. `given` is hashed once: a SHA-256 per candidate, not two (a file holds up to SECRET_LINES).
 */
export function findSecret(given: string, candidates: readonly string[]): string | undefined {
  if (given === '') return undefined;
  const presented = digest(given);
  let found: string | undefined;
  for (const candidate of candidates)
    if (timingSafeEqual(presented, digest(candidate)) && candidate !== '') found ??= candidate;
  return found;
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerTokenOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return /^Bearer[ ]+(\S+)\s*$/i.exec(header)?.[1];
}
