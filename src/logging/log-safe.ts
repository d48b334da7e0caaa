import { isAscii } from 'node:buffer';

// DEL, the C1 controls, U+2028 and U+2029. JSON lets them stand raw in a string, but a reader that
// splits on Unicode line breaks (Python's str.splitlines, some log shippers) cuts a line at U+2028,
// U+2029 or NEL (U+0085) into pieces that do not parse, and a raw CSI (U+009B) drives a terminal
// in 8-bit mode.
const UNSAFE = /[\u007f-\u009f\u2028\u2029]/;

const DEL = 0x7f;
// C1 controls are C2 80 to C2 9F in UTF-8.
const C1_LEAD = 0xc2;
const C1_LAST = 0x9f;
const CONTINUATION = 0x80;
const MAX_C1_LEADS_LOOKED_AT = 8;
const LINE_SEPARATOR = Buffer.from('\u2028');
const PARAGRAPH_SEPARATOR = Buffer.from('\u2029');

// Text at least this long is encoded into a scratch buffer and its bytes searched: the regular
// expression takes 0.6 ns a character (16 us for a 25 KB alert's line, 0.17 us for 200 characters),
// the encoding and the searches 0.8 us for 25 KB and 0.12 us for 200 characters of ASCII.
const SCAN_AS_BYTES_CHARS = 128;
// A character encodes to at most 3 bytes: text up to a third of this is scanned as bytes.
const SCRATCH_BYTES = 192 * 1024;
let scratch: Buffer | undefined;

const LAST_C1_CODE = 0x9f;
const LINE_SEPARATOR_CODE = 0x2028;
const PARAGRAPH_SEPARATOR_CODE = 0x2029;
const escapeOf = (code: number) => `\\u${code.toString(16).padStart(4, '0')}`;
const C1_ESCAPES = Array.from({ length: LAST_C1_CODE - DEL + 1 }, (_, i) => escapeOf(DEL + i));

/**
 * `text` with each of them escaped, in one loop over its characters. Not `replace` with a function:
 * a call per character cost 0.3 us, and a 1.8 MB body of DEL held the loop for 0.56 s (found by
 * review); this loop takes 65 ms for it.
 */
function escapeUnsafe(text: string): string {
  let out = '';
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (
      code < DEL ||
      (code > LAST_C1_CODE && code !== LINE_SEPARATOR_CODE && code !== PARAGRAPH_SEPARATOR_CODE)
    )
      continue;
    out += text.slice(copied, i) + (code <= LAST_C1_CODE ? C1_ESCAPES[code - DEL] : escapeOf(code));
    copied = i + 1;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * False when `bytes` surely hold none of them, which a few byte searches tell; true when they may
 * (the escape's own scan then decides).
 */
function mayHoldUnsafeBytes(bytes: Buffer): boolean {
  if (bytes.includes(DEL)) return true;
  // Most lines are ASCII, which one call tells: each search below is a call of its own (50 ns).
  if (isAscii(bytes)) return false;
  if (bytes.includes(LINE_SEPARATOR) || bytes.includes(PARAGRAPH_SEPARATOR)) return true;
  // C2 A0 to C2 BF (a no-break space, ©, °) are common and not C1: the first few C2 are looked at,
  // and text with more is left to the scan, so a body full of them costs no search per character.
  let at = bytes.indexOf(C1_LEAD);
  for (let looked = 0; at !== -1; looked += 1) {
    if (looked === MAX_C1_LEADS_LOOKED_AT) return true;
    const next = bytes[at + 1];
    if (next !== undefined && next >= CONTINUATION && next <= C1_LAST) return true;
    at = bytes.indexOf(C1_LEAD, at + 1);
  }
  return false;
}

function mayHoldUnsafeChars(text: string): boolean {
  if (text.length < SCAN_AS_BYTES_CHARS || text.length * 3 > SCRATCH_BYTES) return UNSAFE.test(text);
  scratch ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  return mayHoldUnsafeBytes(scratch.subarray(0, scratch.write(text)));
}

/**
 * JSON text (log lines) with DEL, the C1 controls, U+2028 and U+2029 written as `\uXXXX`: still
 * valid JSON of the same value (JSON allows them only inside strings, where the escape means the
 * same), and no reader finds a line break or a terminal control in it. Text without them (nearly
 * all) is returned as it is after one scan.
 */
export function logSafeText(text: string): string {
  return mayHoldUnsafeChars(text) ? escapeUnsafe(text) : text;
}

/**
 * `logSafeText` for UTF-8 bytes (a group commit's lines): the same bytes when they hold none of
 * those characters, which byte searches tell, else new bytes with them escaped.
 */
export function logSafeBytes(bytes: Buffer): Buffer {
  if (!mayHoldUnsafeBytes(bytes)) return bytes;
  // Decoded and encoded again: lines' bytes are valid UTF-8 (encoded text, or a received body that
  // isUtf8 accepted), so nothing else changes.
  const text = bytes.toString('utf8');
  return UNSAFE.test(text) ? Buffer.from(escapeUnsafe(text)) : bytes;
}
