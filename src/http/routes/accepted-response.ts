import type { StoredAlert } from '../../alerts/stored-alert.js';

/** Header that names an accepted alert's id (also in `Location`), so no body is needed. */
export const ALERT_ID_HEADER = 'X-Alert-Id';

/**
 * True when a `Prefer` header (RFC 7240) asks for `return=representation`. Falco never asks: 0.34
 * hands every response body to libcurl's default writer, which prints it into Falco's own log.
 */
export function prefersRepresentation(prefer: string | string[] | undefined): boolean {
  // Falco sends no Prefer: the common case costs no split and no regular expression.
  if (prefer === undefined) return false;
  const values = Array.isArray(prefer) ? prefer : [prefer ?? ''];
  return values
    .flatMap((value) => value.split(','))
    .some((preference) => {
      const [token = ''] = preference.split(';');
      return /^\s*return\s*=\s*"?representation"?\s*$/i.test(token);
    });
}

/** How an accepted alert is answered (202): flat header pairs, and a JSON body only when asked for. */
export interface AcceptedAnswer {
  headers: string[];
  body?: string;
}

/** The 202 of an accepted alert: `Location` and its id header; `{id, receivedAt}` only on request. */
export function acceptedResponse(entry: StoredAlert, prefer: string | string[] | undefined): AcceptedAnswer {
  const headers = ['Location', `/alerts/${entry.id}`, ALERT_ID_HEADER, entry.id];
  if (!prefersRepresentation(prefer)) return { headers };
  headers.push('Preference-Applied', 'return=representation');
  return { headers, body: JSON.stringify({ id: entry.id, receivedAt: entry.receivedAt }) };
}
