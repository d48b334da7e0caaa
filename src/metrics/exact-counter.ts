import { Counter, type CounterConfiguration } from 'prom-client';

/** One series of an ExactCounter: its label values as written, and its count. */
interface Series<T extends string> {
  labels: Record<T, string>;
  value: number;
}

/**
 * `values` as one key that no other list of values makes: each value after its length, so no value
 * can pass for the end of one and the start of the next.
 */
export function lengthPrefixed(values: readonly string[]): string {
  let key = '';
  for (const value of values) key += `${value.length}:${value}`;
  return key;
}

/**
 * A Counter whose series are told apart by their exact label values. prom-client keys a series by
 * `name:value,` over the sorted label names with nothing escaped, so {rule: 'A,source:B', source:
 * 'C'} and {rule: 'A', source: 'B,source:C'} are one series to it, written with the labels of
 * whichever came first: where clients choose label values (an alert's rule, source or output
 * fields), one could add its counts to another's series, or hide its own. Count with `add`
 * (`inc` keeps prom-client's key); the series reach /metrics, and a cluster's primary, as any
 * counter's do (`get`).
 */
export class ExactCounter<T extends string> extends Counter<T> {
  // Not #private: Counter's constructor calls reset() before this class's own fields exist.
  private series = new Map<string, Series<T>>();
  private readonly names: readonly T[];

  constructor(configuration: CounterConfiguration<T> & { labelNames: readonly T[] }) {
    super(configuration);
    this.names = configuration.labelNames;
  }

  /** Adds `value` (at least 0) to the series of exactly these label values. */
  add(labels: Readonly<Record<T, string>>, value: number): void {
    const key = lengthPrefixed(this.names.map((name) => labels[name]));
    const series = this.series.get(key);
    if (series) series.value += value;
    else this.series.set(key, { labels: { ...labels }, value });
  }

  override async get() {
    // prom-client's own: runs `collect` first, and holds what `inc` counted.
    const metric = await super.get();
    return { ...metric, values: [...metric.values, ...this.series.values()] };
  }

  override reset(): void {
    super.reset();
    this.series = new Map();
  }
}
