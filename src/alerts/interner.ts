/**
 * One shared copy of each text (and list of texts) that repeats across alerts: rule names, hostnames,
 * sources, namespaces, tags. A store that keeps an alert's fields for a while then holds the shared
 * copy, and the alert's own copy dies young instead of being promoted with it. Bounded: past `max`
 * distinct values the table starts over (a flood of distinct names only loses the sharing). Only
 * short texts and lists are shared: a count bound alone let 4096 one-megabyte hostnames live on
 * after the alerts that brought them were gone.
 */
export interface Interner {
  text(value: string): string;
  list(values: readonly string[]): readonly string[];
}

const DEFAULT_MAX = 4096;
/** Longest text shared, in UTF-16 units: names that repeat are short. */
export const MAX_SHARED_LENGTH = 256;
/** Longest list shared, by its joined key. */
const MAX_SHARED_LIST_LENGTH = 4 * MAX_SHARED_LENGTH;

export function createInterner(max: number = DEFAULT_MAX): Interner {
  let texts = new Map<string, string>();
  let lists = new Map<string, readonly string[]>();
  const text = (value: string): string => {
    if (value.length > MAX_SHARED_LENGTH) return value;
    const known = texts.get(value);
    if (known !== undefined) return known;
    if (texts.size >= max) texts = new Map();
    texts.set(value, value);
    return value;
  };
  const same = (a: readonly string[], b: readonly string[]) =>
    a.length === b.length && a.every((value, i) => value === b[i]);
  const lookUpList = (values: readonly string[]): readonly string[] => {
    // A tag may itself contain the separator, so a hit is compared item by item.
    const key = values.join('\u0000');
    const shared = key.length <= MAX_SHARED_LIST_LENGTH;
    const known = shared ? lists.get(key) : undefined;
    if (known !== undefined && same(known, values)) return known;
    const copy = Object.freeze(values.map(text));
    // A long list, or one whose joined text another list holds: a copy of its own.
    if (!shared || known !== undefined) return copy;
    if (lists.size >= max) lists = new Map();
    lists.set(key, copy);
    return copy;
  };
  // Alerts of one rule come in runs with the same tags: the last list is compared first (no join).
  let lastList: readonly string[] | undefined;
  return {
    text,
    list(values) {
      if (lastList === undefined || !same(lastList, values)) lastList = lookUpList(values);
      return lastList;
    },
  };
}
