import { falcoAlertSchema, type FalcoAlert } from '../alerts/falco-alert-schema.js';

/**
 * Parses JSON text read from Redis (an alert's, its tags'), which another version, a hand edit or
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

/** An alert's text read from Redis that answers may take: one JSON object, and that object. */
export interface StoredAlertText {
  text: string;
  value: object;
}

const BYTE_ORDER_MARK = 0xfeff;
const NOT_AN_OBJECT = 'an alert text read from Redis is not one JSON object';

/**
 * An alert's text read from Redis (undefined: its entry has none) as answers take it, spliced in as
 * it is (presentAlertJson): one JSON object, after the byte order mark a received body may start
 * with, or a SyntaxError as parseStoredJson's. Another writer's text that was not (another
 * version's, a bug's, anyone's with access to Redis) made every list, replay and live stream that
 * held it invalid JSON, or added alerts to it. Parsed whole on every read: V8's JSON.parse (0.4-0.7
 * ns a character, 2 us for a 1 KB alert) was as fast as a check in JavaScript that builds nothing
 * (strings must be searched for raw control characters: a regular expression each), and what it
 * builds is garbage at once.
 */
export function readStoredAlertText(text: string | undefined): StoredAlertText {
  if (text === undefined) throw new SyntaxError(NOT_AN_OBJECT);
  const value = parseStoredJson<unknown>(text.charCodeAt(0) === BYTE_ORDER_MARK ? text.slice(1) : text);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new SyntaxError(NOT_AN_OBJECT);
  return { text, value };
}

// What fieldsFromAlert reads of an alert as Falco sends it (output_fields it reads whatever they are).
const readAlertFields = falcoAlertSchema.pick({ rule: true, source: true, hostname: true, tags: true });

/**
 * A stored alert's JSON object as fieldsFromAlert reads it: a SyntaxError when those fields are not
 * an alert's. Another writer's object without a rule threw a TypeError there, which failed every
 * read that passed over it.
 */
export function readStoredAlert(value: object): FalcoAlert {
  if (!readAlertFields.safeParse(value).success)
    throw new SyntaxError('an alert text read from Redis is not an alert');
  return value as FalcoAlert;
}
