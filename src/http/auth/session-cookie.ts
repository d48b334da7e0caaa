import { createHash, createHmac, randomBytes } from 'node:crypto';
import { findSecret } from './same-secret.js';

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
  /**
   * The CSRF token that goes with it (sent back in X-CSRF-Token), derived from the nonce with the
   * key that signed the cookie: it holds wherever the cookie does, through a key rotation and on a
   * replica not yet given the new key alike.
   */
  csrfToken: string;
}

export interface SessionSigner {
  /** A cookie value for a new session. */
  issue(role: Role, token: string): { value: string; session: Session };
  /** The session a cookie value proves, or undefined (no key in force signed it, expired, malformed). */
  verify(value: string | undefined): Session | undefined;
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
 * cookies; without one, the key is random per process and a restart signs everyone out. `secrets`
 * is read at each call (SESSION_SECRET_FILE is read again once changed): the first key signs, every
 * one verifies, so a new key put first leaves the cookies signed with the old one valid until it is
 * taken out of the file.
 */
export function createSessionSigner(options: {
  secrets: () => readonly string[];
  ttlMs: number;
  now?: () => number;
}): SessionSigner {
  const randomKey = randomBytes(32).toString('base64url');
  const keys = () => {
    const secrets = options.secrets();
    return secrets.length > 0 ? secrets : [randomKey];
  };
  const now = options.now ?? Date.now;
  const sign = (key: string, text: string) => createHmac('sha256', key).update(text).digest('base64url');
  const sessionOf = (key: string, fields: Omit<Session, 'csrfToken'>): Session => ({
    ...fields,
    csrfToken: sign(key, `csrf.${fields.nonce}`),
  });

  return {
    issue(role, token) {
      const key = keys()[0]!;
      const expiresAt = now() + options.ttlMs;
      const nonce = randomBytes(16).toString('base64url');
      const tokenTag = tagOfToken(token);
      const body = `v1.${role}.${expiresAt}.${nonce}.${tokenTag}`;
      return {
        value: `${body}.${sign(key, body)}`,
        session: sessionOf(key, { role, expiresAt, nonce, tokenTag }),
      };
    },
    verify(value) {
      const match = value === undefined || value.length > 200 ? null : FORMAT.exec(value);
      if (!match) return undefined;
      const [, role, expires, nonce, tokenTag, signature] = match as unknown as string[];
      const body = value!.slice(0, value!.lastIndexOf('.'));
      const inForce = keys();
      const signatures = inForce.map((key) => sign(key, body));
      const found = findSecret(signature!, signatures);
      if (found === undefined) return undefined;
      const expiresAt = Number(expires);
      if (expiresAt <= now()) return undefined;
      const key = inForce[signatures.indexOf(found)]!;
      return sessionOf(key, { role: role as Role, expiresAt, nonce: nonce!, tokenTag: tokenTag! });
    },
  };
}
