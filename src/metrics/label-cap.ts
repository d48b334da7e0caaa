/** The label value that stands for every value past a cap. */
export const OVERFLOW_LABEL = '__overflow__';

/** Longest label value kept; longer ones are cut so one label cannot hold a whole alert. */
export const MAX_LABEL_LENGTH = 200;

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_ALL = /[\u0000-\u001f\u007f]/g;

/**
 * Bounds the distinct values one label may take: the first `limit` values pass, later new ones
 * become `__overflow__` and `onOverflow` is told how many uses each such call stands for.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATE_ALL = new RegExp(LONE_SURROGATE.source, 'g');

/** A string that shares no memory with the one it was cut from. */
function ownCopy(value: string): string {
  return Buffer.from(value, 'utf16le').toString('utf16le');
}

export class LabelCap {
  readonly #seen = new Set<string>();

  constructor(
    private readonly limit: number,
    private readonly onOverflow: (uses: number) => void,
  ) {}

  /** The label value for `raw`; `uses` observations share this call (a batch of one series). */
  value(raw: string, uses = 1): string {
    // Control characters (a NUL from a custom rule's YAML) have no place in the exposition format.
    const clean = CONTROL.test(raw) ? raw.replace(CONTROL_ALL, '\uFFFD') : raw;
    // Well-formed UTF-16 before the value is compared: a lone surrogate (sent escaped, or left by
    // cutting a pair in two) is written out as U+FFFD, so two values that differ only there would
    // otherwise be two series that print as one.
    const cut = clean.length > MAX_LABEL_LENGTH ? clean.slice(0, MAX_LABEL_LENGTH) : clean;
    const value = LONE_SURROGATE.test(cut) ? cut.replace(LONE_SURROGATE_ALL, '\uFFFD') : cut;
    if (this.#seen.has(value)) return value;
    if (this.#seen.size < this.limit) {
      // Kept for the life of the process (here and in prom-client's series): a copy, since V8's
      // slice of a long value keeps the whole original (1 MB hostnames pinned 1 MB per label value).
      const kept = value === raw ? value : ownCopy(value);
      this.#seen.add(kept);
      return kept;
    }
    this.onOverflow(uses);
    return OVERFLOW_LABEL;
  }
}
