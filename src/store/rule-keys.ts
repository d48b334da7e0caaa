import type { RuleKeys } from '../alerts/alert-store.js';
import { cappedStart, standsForLonger } from './capped-text.js';

// Names read for comparisons kept at once: the top list's (10) and the one compared with them.
const NAMES_KEPT = 16;

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The rule keys of one summary read: rule names, and capped ones (capped-text.ts) for longer names.
 * Keys are ordered by what they hold of their names, which settles all but two capped keys whose
 * first FIELD_CAP units are the same; those, and the names the summary lists, are read from the
 * alert of `newest` (a stream id holding the key), a few at a time however many keys there are.
 */
export function createRuleKeys(
  newest: ReadonlyMap<string, string>,
  readRule: (streamId: string) => Promise<string | undefined>,
): RuleKeys {
  const names = new Map<string, string>();
  async function name(key: string): Promise<string> {
    if (!standsForLonger(key)) return key;
    const known = names.get(key);
    if (known !== undefined) return known;
    const streamId = newest.get(key);
    // Trimmed since it was counted (no other alert of the rule is known): what the key holds of it.
    const read = (streamId === undefined ? undefined : await readRule(streamId)) ?? `${cappedStart(key)}…`;
    if (names.size >= NAMES_KEPT) names.delete(names.keys().next().value!);
    names.set(key, read);
    return read;
  }
  return {
    compare(a, b) {
      if (a === b) return 0;
      if (!standsForLonger(a) && !standsForLonger(b)) return byCodeUnit(a, b);
      const startA = cappedStart(a);
      const startB = cappedStart(b);
      // They differ within what both hold, or a whole name is where the other's longer one starts.
      if (!startA.startsWith(startB) && !startB.startsWith(startA)) return byCodeUnit(startA, startB);
      if (!standsForLonger(a) && a.length <= startB.length) return -1;
      if (!standsForLonger(b) && b.length <= startA.length) return 1;
      return Promise.all([name(a), name(b)]).then(([nameA, nameB]) => byCodeUnit(nameA, nameB));
    },
    name,
  };
}
