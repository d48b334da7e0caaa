import { createHash, createHmac, randomBytes } from 'node:crypto';
import { sameSecret } from './same-secret.js';

/** What a signed-in browser may do: read, or read and trigger (signed in with a trigger token). */
export type Role = 'viewer' | 'trigger';

/** A verified session cookie. */
export interface Session {
  role: Role;
  expiresAt: number;
  /** Random per sign-in; the CSRF token is derived from it. */
  nonce: string;
  /** Which token signed in (a hash prefix), so removing a token from rotation ends its sessions. */
  tokenTag: string;
}

export interface SessionSigner {
  /** A cookie value for a new session. */
  issue(role: Role, token: string): { value: string; session: Session };
  /** The session a cookie value proves, or undefined (bad signature, expired, malformed). */
  verify(value: string | undefined): Session | undefined;
  /** The CSRF token that goes with a session (sent back in X-CSRF-Token). */
  csrfTokenOf(session: Session): string;
}

/** The tag of a token as sessions record it. */
export function tagOfToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url').slice(0, 16);
}

const FORMAT =
  /^v1\.(viewer|trigger)\.(\d{1,13})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/;

/**
 * Stateless sessions: the cookie holds role, expiry, a nonce and a token tag, signed with
 * HMAC-SHA256. Nothing is kept in memory, so replicas sharing SESSION_SECRET accept each other's
 * cookies; without one, the key is random per process and a restart signs everyone out.
 */
export function createSessionSigner(options: {
  secret?: string;
  ttlMs: number;
  now?: () => number;
}): SessionSigner {
  const key = options.secret ?? randomBytes(32).toString('base64url');
  const now = options.now ?? Date.now;
  const sign = (text: string) => createHmac('sha256', key).update(text).digest('base64url');

  return {
    issue(role, token) {
      const session: Session = {
        role,
        expiresAt: now() + options.ttlMs,
        nonce: randomBytes(16).toString('base64url'),
        tokenTag: tagOfToken(token),
      };
      const body = `v1.${role}.${session.expiresAt}.${session.nonce}.${session.tokenTag}`;
      return { value: `${body}.${sign(body)}`, session };
    },
    verify(value) {
      const match = value === undefined || value.length > 200 ? null : FORMAT.exec(value);
      if (!match) return undefined;
      const [, role, expires, nonce, tokenTag, signature] = match as unknown as string[];
      const body = value!.slice(0, value!.lastIndexOf('.'));
      if (!sameSecret(signature!, sign(body))) return undefined;
      const expiresAt = Number(expires);
      if (expiresAt <= now()) return undefined;
      return { role: role as Role, expiresAt, nonce: nonce!, tokenTag: tokenTag! };
    },
    csrfTokenOf: (session) => sign(`csrf.${session.nonce}`),
  };
}
