import type { IncomingMessage } from 'node:http';
import { readCookie } from './read-cookie.js';
import { ourBearerOf } from './proxy-bearer.js';
import { findSecret } from './same-secret.js';
import { tagOfToken, type Role, type Session, type SessionSigner } from './session-cookie.js';

/** The session cookie's name. */
export const SESSION_COOKIE = 'falco_session';

/** The tokens that read, and the one that also triggers ('' when triggers are off). */
export interface TokenSet {
  viewerTokens: readonly string[];
  triggerToken: string;
}

/** How a request proved who it is. */
export type Credentials =
  | { kind: 'granted'; role: Role; via: 'bearer' | 'session' | 'proxy'; session?: Session }
  | { kind: 'wrong' }
  | { kind: 'none' };

/** The role a presented token grants, or undefined. Every candidate is compared (constant time). */
export function roleOfToken(token: string, tokens: TokenSet): Role | undefined {
  const trigger = tokens.triggerToken === '' ? undefined : findSecret(token, [tokens.triggerToken]);
  const viewer = findSecret(token, tokens.viewerTokens);
  if (trigger !== undefined) return 'trigger';
  return viewer !== undefined ? 'viewer' : undefined;
}

/**
 * Reads a request's credentials: a bearer token, else a session cookie whose token is still
 * configured, else a user vouched for by a trusted proxy. A wrong bearer token is `wrong` (it
 * counts towards the rate limit); an expired or forged cookie is only `none`. The ID token a
 * trusted proxy sends with the user it vouches for is not ours to judge (ourBearerOf).
 */
export function readCredentials(
  req: IncomingMessage,
  tokens: TokenSet,
  signer: SessionSigner,
  proxyUser: string | undefined,
): Credentials {
  const ours = [...tokens.viewerTokens, tokens.triggerToken];
  const bearer = ourBearerOf(req.headers.authorization, proxyUser, ours);
  if (bearer !== undefined) {
    const role = roleOfToken(bearer, tokens);
    return role ? { kind: 'granted', role, via: 'bearer' } : { kind: 'wrong' };
  }
  const session = signer.verify(readCookie(req.headers.cookie, SESSION_COOKIE));
  if (session && stillConfigured(session, tokens))
    return { kind: 'granted', role: session.role, via: 'session', session };
  if (proxyUser !== undefined) return { kind: 'granted', role: 'viewer', via: 'proxy' };
  return { kind: 'none' };
}

// A token taken out of rotation (or a trigger token changed) ends the sessions it opened.
function stillConfigured(session: Session, tokens: TokenSet): boolean {
  const allowed = session.role === 'trigger' ? [tokens.triggerToken] : tokens.viewerTokens;
  return allowed.some((token) => token !== '' && tagOfToken(token) === session.tokenTag);
}
