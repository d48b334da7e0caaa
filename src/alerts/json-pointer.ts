import { cutText, startOf } from './cut-text.js';

/**
 * Most bytes a pointer writes in an answer or a log line (cut-text.ts): a longer one is shown as its
 * start and `…` (and each key is cut to as many characters before it is escaped, so a long one is
 * never copied whole). A refusal names each bad field twice (in `detail` and `errors`), and a key
 * can be as long as the body: a 1.8 MB key of `~` (each escaped as `~0`) made a 7.2 MB answer and a
 * 3.6 MB log line, and 128 such answers waiting in unread sockets ran the heap out; cut key by key,
 * 20 fields under 256-character keys, or one under 30 of them, still made answers of 15 to 24 KB
 * (both found by review).
 */
export const MAX_POINTER_BYTES = 256;

/** An RFC 6901 JSON pointer to a path in a JSON document (`~` and `/` escaped), cut to MAX_POINTER_BYTES as written. */
export function toPointer(path: ReadonlyArray<PropertyKey>): string {
  const pointer = path
    .map((part) => '/' + startOf(String(part), MAX_POINTER_BYTES).replaceAll('~', '~0').replaceAll('/', '~1'))
    .join('');
  return cutText(pointer, MAX_POINTER_BYTES);
}
