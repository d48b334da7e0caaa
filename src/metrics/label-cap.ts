import { startWithin } from '../alerts/cut-text.js';

/** The label value that stands for every value past a cap. */
export const OVERFLOW_LABEL = '__overflow__';

/**
 * Longest label value kept, in bytes as /metrics writes it (UTF-8, with `\` and `"` escaped to two
 * bytes): longer ones are cut, so one label cannot hold a whole alert, and a value full of quotes
 * or of three-byte characters writes no more than a plain one (200 characters of those wrote 400
 * and 600 bytes, and the metrics page grew from 1.5 to 2.7 MiB).
 */
export const MAX_LABEL_BYTES = 200;

// C0, DEL and C1 controls, and U+2028 and U+2029, which readers that split on Unicode line breaks
// (Python's str.splitlines) take for the end of a /metrics line.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const CONTROL_ALL = new RegExp(CONTROL.source, 'g');

/** A string that shares no memory with the one it was cut from. */
function ownCopy(value: string): string {
  return Buffer.from(value, 'utf16le').toString('utf16le');
}

/**
 * Bounds the distinct values one label may take: the first `limit` values pass, later new ones
 * become `__overflow__` and `onOverflow` is told how many uses each such call stands for.
 */
export class LabelCap {
  readonly #seen = new Set<string>();
  // The last value that passed as it was given (not cleaned or cut): the delay histogram's source
  // is capped once per alert, and it is nearly always the same one (syscall). Values passed stay passed.
  #lastPassed: string | undefined;

  constructor(
    private readonly limit: number,
    private readonly onOverflow: (uses: number) => void,
  ) {}

  /** The label value for `raw`; `uses` observations share this call (a batch of one series). */
  value(raw: string, uses = 1): string {
    if (raw === this.#lastPassed) return raw;
    // Control characters (a NUL from a custom rule's YAML) and line separators have no place in the
    // exposition format.
    const clean = CONTROL.test(raw) ? raw.replace(CONTROL_ALL, '\uFFFD') : raw;
    // Well-formed UTF-16 before the value is compared: a lone surrogate (sent escaped) is written
    // out as U+FFFD, so two values that differ only there would otherwise be two series that print as one.
    // Made so before the cut, which then counts what /metrics writes (each U+FFFD three bytes): the
    // same cut as when they were replaced after it, one unit for one.
    const whole = clean.isWellFormed() ? clean : clean.toWellFormed();
    const value = startWithin(whole, MAX_LABEL_BYTES);
    if (this.#seen.has(value)) return this.#passed(raw, value);
    if (this.#seen.size < this.limit) {
      // Kept for the life of the process (here and in prom-client's series): a copy, since V8's
      // slice of a long value keeps the whole original (1 MB hostnames pinned 1 MB per label value).
      const kept = value === raw ? value : ownCopy(value);
      this.#seen.add(kept);
      return this.#passed(raw, kept);
    }
    this.onOverflow(uses);
    return OVERFLOW_LABEL;
  }

  #passed(raw: string, value: string): string {
    // Only a value given as it is written: a longer raw one (cut to the cap's length) is not held.
    if (raw === value) this.#lastPassed = raw;
    return value;
  }
}
