import type { FalcoAlert } from '../alerts/falco-alert-schema.js';
import { parseFalcoAlert } from '../alerts/parse-falco-alert.js';

/**
 * Parses JSON text read from Redis (an alert's tags), which another version, a hand edit or
 * a corrupted write may have left unreadable. The error says only that: JSON.parse's own message,
 * and so its stack, quotes the text around where it stopped, and these errors are logged (a read's
 * refusal, a run taken over), which carried stored, attacker-written alert text into log lines.
 */
export function parseStoredJson<T>(text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new SyntaxError('a value read from Redis is not JSON');
  }
}

/** An alert's text read from Redis that answers may take, and the alert it holds. */
export interface StoredAlertText {
  text: string;
  alert: FalcoAlert;
}

/**
 * An alert's text read from Redis (undefined: its entry has none) as answers take it, spliced in as
 * it is (presentAlertJson): a body ingest accepts (parseFalcoAlert, byte order mark and all), or a
 * SyntaxError as parseStoredJson's. Another writer's text that was not (another version's, a bug's,
 * anyone's with access to Redis) made every list, replay and live stream that held it invalid JSON,
 * or added alerts to it; one JSON.parse took but ingest refuses (a repeated key, nesting deeper than
 * 32, an object without an alert's fields) was answered, then threw where the alert was read from
 * it (trigger verification, a CSV download partway). Checked whole on every read, as ingest checks
 * a body: about 2-3 times JSON.parse alone (5.6 against 1.9 us for a 1 KB alert, 49 against 24 for
 * 25 KB; bench/hot-path.ts), and what it builds is garbage at once.
 */
export function readStoredAlertText(text: string | undefined): StoredAlertText {
  const parsed = text === undefined ? undefined : parseFalcoAlert(text);
  if (text === undefined || !parsed?.ok)
    throw new SyntaxError('an alert text read from Redis is not an alert ingest accepts');
  // Written as ingest stores it: a number beyond a double's range as null (another writer's `1e+9999`
  // was answered as written, which strict JSON readers refuse).
  return { text: parsed.text ?? text, alert: parsed.alert };
}
