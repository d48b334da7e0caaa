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
