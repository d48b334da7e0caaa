import { bearerTokenOf, sameSecret } from '../http/auth/same-secret.js';

/** Checks an Authorization header against the token in constant time (see same-secret.ts). */
export function isAuthorized(header: string | undefined, token: string): boolean {
  return sameSecret(bearerTokenOf(header) ?? '', token);
}
