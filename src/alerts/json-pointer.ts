import { cutText } from './cut-text.js';

/**
 * Most characters of one key a pointer names: a longer key is named by its first this many and `…`.
 * A refusal names each bad field twice (in `detail` and `errors`), and a key can be as long as the
 * body: a 1.8 MB key of `~` (each escaped as `~0`) made a 7.2 MB answer and a 3.6 MB log line, and
 * 128 such answers waiting in unread sockets ran the heap out (found by review).
 */
export const MAX_POINTER_KEY_CHARS = 256;

/** An RFC 6901 JSON pointer to a path in a JSON document (`~` and `/` escaped), each key cut to MAX_POINTER_KEY_CHARS. */
export function toPointer(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map(
      (part) =>
        '/' + cutText(String(part), MAX_POINTER_KEY_CHARS).replaceAll('~', '~0').replaceAll('/', '~1'),
    )
    .join('');
}
