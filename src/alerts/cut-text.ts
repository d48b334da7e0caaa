const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/**
 * The first `maxChars` UTF-16 units of `text` (all of it when shorter), one fewer rather than half
 * a surrogate pair (which Redis would keep as U+FFFD, and JSON.stringify write as a lone escape).
 */
export function startOf(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  return text.slice(0, isHighSurrogate(text.charCodeAt(maxChars - 1)) ? maxChars - 1 : maxChars);
}

// The most bytes one UTF-16 unit takes written (a control as `\u0001`).
const MAX_UNIT_BYTES = 6;

/**
 * Bytes a character takes written in a JSON string of an answer or a log line (UTF-8; `"` and `\`
 * escaped; controls, DEL, the C1 controls, U+2028, U+2029 and a lone surrogate as `\uXXXX`, as
 * JSON.stringify and the log lines write them), and so also in a metric label, whose values hold
 * none of those by then.
 */
function writtenBytes(code: number, pair: boolean): number {
  if (code < 0x20) return MAX_UNIT_BYTES;
  if (code === 0x22 || code === 0x5c) return 2;
  if (code < 0x7f) return 1;
  if (code <= 0x9f) return MAX_UNIT_BYTES;
  if (code < 0x800) return 2;
  if (code === 0x2028 || code === 0x2029) return MAX_UNIT_BYTES;
  if (pair) return 4;
  // A lone surrogate: JSON.stringify writes it as `\ud800` (found by review: counted as 3, a cut
  // pointer wrote twice its bound).
  return code >= 0xd800 && code <= 0xdfff ? MAX_UNIT_BYTES : 3;
}

/** The longest start of `text` that writes at most `maxBytes` (see writtenBytes), never half a pair. */
export function startWithin(text: string, maxBytes: number): string {
  if (text.length * MAX_UNIT_BYTES <= maxBytes) return text;
  let bytes = 0;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    const pair = isHighSurrogate(code) && isLowSurrogate(text.charCodeAt(i + 1));
    bytes += writtenBytes(code, pair);
    if (bytes > maxBytes) return text.slice(0, i);
    if (pair) i += 1;
  }
  return text;
}

/**
 * `text` cut to what `maxBytes` write (startWithin) and `…` when longer: how an answer or a log
 * line names what a client sent (a key, a path, a parameter), whose length the client chooses.
 * Counted in written bytes, not characters: 256 characters of U+0001 write 1,536 bytes, and twenty
 * of them named twice made a 62 KB answer (found by review).
 */
export function cutText(text: string, maxBytes: number): string {
  const start = startWithin(text, maxBytes);
  return start.length === text.length ? text : `${start}…`;
}
