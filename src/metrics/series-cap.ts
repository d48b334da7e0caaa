import { OVERFLOW_LABEL } from './label-cap.js';

/**
 * Bounds the series of one metric, whatever each label's own cap allows (500 rules x 8 priorities
 * x 20 sources would be 80,000 series). Distinct label sets pass up to `limit` less the room kept
 * for overflow series; past that a new one has every label but the `keep` ones (bounded enums such
 * as priority) replaced by `__overflow__`, and `onOverflow` is told how many observations it stood for.
 */
export class SeriesCap {
  readonly #seen = new Set<string>();
  readonly #regular: number;

  /**
   * @param limit most series of the metric, overflow series included
   * @param keep labels kept in an overflow series, with how many values each can take
   */
  constructor(
    limit: number,
    private readonly keep: Readonly<Record<string, number>>,
    private readonly onOverflow: (uses: number) => void,
  ) {
    // Room is left for the overflow series: one per combination of the kept labels.
    const overflowSeries = Object.values(keep).reduce((product, values) => product * values, 1);
    this.#regular = Math.max(0, limit - overflowSeries);
  }

  /** The labels to count `uses` observations of `labels` under. */
  labels(labels: Record<string, string>, uses = 1): Record<string, string> {
    // Capped label values hold no control characters (LabelCap): NUL cannot occur within one.
    const key = Object.values(labels).join('\u0000');
    if (this.#seen.has(key)) return labels;
    if (this.#seen.size < this.#regular) {
      this.#seen.add(key);
      return labels;
    }
    this.onOverflow(uses);
    const overflow: Record<string, string> = {};
    for (const name of Object.keys(labels))
      overflow[name] = Object.hasOwn(this.keep, name) ? labels[name]! : OVERFLOW_LABEL;
    return overflow;
  }
}
