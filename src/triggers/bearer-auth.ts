import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Checks an Authorization header against the token in constant time. Hashing first gives equal
 * lengths, so neither the content nor the length of the token leaks through timing.
 */
export function isAuthorized(header: string | undefined, token: string): boolean {
  if (token === '' || header === undefined) return false;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  const presented = match?.[1] ?? '';
  return timingSafeEqual(digest(presented), digest(token)) && presented !== '';
}
