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

const BACKSLASH = 0x5c;
const LETTER_U = 0x75;
const HEX_DIGITS = Buffer.from('0123456789abcdef');
const E2 = 0xe2;
// U+2028 and U+2029 are E2 80 A8 and E2 80 A9 in UTF-8.
const SEPARATOR_LAST_BYTES = [0xa8, 0xa9];

// How many bytes of an escaped character start at `at` (DEL: 1, C1: 2, a separator: 3), or 0.
function unsafeAt(bytes: Buffer, at: number): number {
  const byte = bytes[at];
  if (byte === DEL) return 1;
  if (byte === C1_LEAD) {
    const next = bytes[at + 1]!;
    return next >= CONTINUATION && next <= C1_LAST ? 2 : 0;
  }
  if (byte === E2 && bytes[at + 1] === CONTINUATION && SEPARATOR_LAST_BYTES.includes(bytes[at + 2]!))
    return 3;
  return 0;
}

/**
 * UTF-8 `bytes` with each of them written as `\uXXXX`, copied byte by byte into one buffer of the
 * exact size (or into the start of `into`, given one). Neither `replace` with a function (a call per character: a 1.8 MB alert of DEL held
 * the loop 0.53 s, found by review) nor a string built piece by piece (1.8 million pieces for the
 * collector: 0.2-0.45 s with the image's 8 MiB young generation); this takes milliseconds. Lead
 * bytes (C2, E2) are never continuation bytes, so in valid UTF-8 a match is always a character.
 */
function escapeUnsafeBytes(bytes: Buffer, into?: Buffer): Buffer {
  let extra = 0;
  for (let i = 0; i < bytes.length; i++) {
    const length = unsafeAt(bytes, i);
    if (length > 0) {
      extra += 6 - length;
      i += length - 1;
    }
  }
  if (extra === 0) return bytes;
  const out = into?.subarray(0, bytes.length + extra) ?? Buffer.allocUnsafe(bytes.length + extra);
  let o = 0;
  for (let i = 0; i < bytes.length; i++) {
    const length = unsafeAt(bytes, i);
    if (length === 0) {
      out[o++] = bytes[i]!;
      continue;
    }
    // DEL is 007f, C2 xx is 00xx, E2 80 yy is 20(yy - 80).
    const code = length === 1 ? DEL : length === 2 ? bytes[i + 1]! : 0x2000 + bytes[i + 2]! - CONTINUATION;
    out[o++] = BACKSLASH;
    out[o++] = LETTER_U;
    out[o++] = HEX_DIGITS[code >> 12]!;
    out[o++] = HEX_DIGITS[(code >> 8) & 15]!;
    out[o++] = HEX_DIGITS[(code >> 4) & 15]!;
    out[o++] = HEX_DIGITS[code & 15]!;
    i += length - 1;
  }
  return out;
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
  if (!mayHoldUnsafeChars(text)) return text;
  // Through its UTF-8, the bytes a line is written as: a lone surrogate would be U+FFFD there anyway.
  const bytes = Buffer.from(text);
  const escaped = escapeUnsafeBytes(bytes);
  return escaped === bytes ? text : escaped.toString('utf8');
}

/**
 * `logSafeText` for UTF-8 bytes (a group commit's lines): the same bytes when they hold none of
 * those characters, which byte searches tell, else new bytes with them escaped, or the start of
 * `into` with them escaped when it is given (at least `ESCAPED_BYTES_MAX` times as long as `bytes`:
 * the pieces of a long line, escaped one after another into one buffer).
 */
export function logSafeBytes(bytes: Buffer, into?: Buffer): Buffer {
  // Lines' bytes are valid UTF-8 (encoded text, or a received body that isUtf8 accepted).
  return mayHoldUnsafeBytes(bytes) ? escapeUnsafeBytes(bytes, into) : bytes;
}

/** Most bytes an escape writes for a byte it replaces: DEL, one byte, becomes `\u007f`. */
export const ESCAPED_BYTES_MAX = 6;
