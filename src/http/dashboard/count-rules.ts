import { randomInt } from 'node:crypto';
import { FIELD_CAP } from '../../store/capped-text.js';

/** How many alerts of each rule a window holds, as the summary counts them. */
export interface RuleCounts {
  /** Counts one alert of `rule` (its capped form past FIELD_CAP, as the store gives it). */
  add(rule: string): void;
  /** Each rule counted and its count, in no particular order. */
  entries(): Iterable<[string, number]>;
}

// Rules one Map holds, about, at most. A Map grows by copying every entry into a table twice as
// large, in one piece: at 262,144 distinct rules (a window of STORE_MAX_ALERTS=300000) that copy
// held the loop 57 ms; at 8,192, 2-3 ms; at 4,096, about 1 ms.
const RULES_PER_MAP = 8_192;
// A capped form ends in the SHA-256 of the whole name (capped-text.ts): its tail tells names apart.
const CAPPED_TAIL = 64;

// FNV-1a from a seed drawn per count, then murmur3's finaliser: names made to share a Map would have
// to be made for a seed they do not know. Reads each character of a name up to FIELD_CAP once.
function hashOf(rule: string, seed: number): number {
  let h = seed;
  for (let i = rule.length > FIELD_CAP ? rule.length - CAPPED_TAIL : 0; i < rule.length; i++) {
    h = Math.imul(h ^ rule.charCodeAt(i), 0x01000193);
  }
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Counts per rule in as many Maps as keep each under about RULES_PER_MAP rules, for a window of up
 * to `expected` alerts (the store's count): one Map, and no hashing, up to RULES_PER_MAP.
 */
export function countRules(expected: number): RuleCounts {
  const bits = Math.max(0, Math.ceil(Math.log2(expected / RULES_PER_MAP)));
  const maps = Array.from({ length: 2 ** bits }, () => new Map<string, number>());
  const seed = randomInt(2 ** 32);
  // Alerts of one rule come in runs: the Map of the last rule is taken again without hashing.
  let lastRule: string | undefined;
  let lastMap = maps[0]!;
  const mapOf = (rule: string) => {
    if (bits === 0 || rule === lastRule) return lastMap;
    lastRule = rule;
    return (lastMap = maps[hashOf(rule, seed) >>> (32 - bits)]!);
  };
  return {
    add(rule) {
      const counts = mapOf(rule);
      counts.set(rule, (counts.get(rule) ?? 0) + 1);
    },
    *entries() {
      for (const counts of maps) yield* counts;
    },
  };
}
