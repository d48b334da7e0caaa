import { bearerTokenOf } from './same-secret.js';

// A compact JWS (header.payload.signature) or JWE (five parts): base64url parts joined by dots.
// Linear: a part holds no dot, so each dot ends exactly one part.
const JWT_SHAPE = /^[\w-]+(?:\.[\w-]*){2}(?:(?:\.[\w-]*){2})?$/;

/**
 * The bearer token a request presents to us, or undefined when it presents none. A trusted proxy
 * may send its own: oauth2-proxy (`--pass-authorization-header`, `--set-authorization-header`) and
 * OIDC ingresses put the user's ID token, a JWT, in `Authorization` of every request they vouch
 * for; judged as ours, it refused every user (401, and 429 once counted). So for a request vouched
 * for by `proxyUser`, a JWT is the proxy's, not a guess, while none of `ours` has a JWT's shape:
 * a guess at one of our tokens is still judged, counted and limited (AUTH_FAILURE_LIMIT).
 */
export function ourBearerOf(
  authorization: string | undefined,
  proxyUser: string | undefined,
  ours: readonly string[],
): string | undefined {
  const bearer = bearerTokenOf(authorization);
  if (bearer === undefined || proxyUser === undefined || !JWT_SHAPE.test(bearer)) return bearer;
  return ours.some((token) => JWT_SHAPE.test(token)) ? bearer : undefined;
}
