import type { HeldAlert } from './held-alert.js';
import type { IdIndex } from './id-index.js';
import type { Priority } from './priority.js';
import type { TextRing } from './text-ring.js';

/** Slot `seq % maxAlerts` of each column holds one field of the alert received `seq`-th. */
export interface Columns {
  /**
   * The counter of an id made by this process's alert-ids (its prefix is `ownPrefix`): the id
   * string is made again when read. Counters only grow; a slot with another id repeats the last one.
   */
  counter: number[];
  /** Any other id. */
  ids: Array<string | undefined>;
  /** `receivedAt` when it is not `receivedAtMs` in ISO 8601 (it always is, from the sink). */
  receivedAt: Array<string | undefined>;
  receivedAtMs: number[];
  timeMs: number[];
  bytes: number[];
  source: string[];
  rule: string[];
  /**
   * The rule's capped form (store/capped-text.ts) when it is longer than FIELD_CAP, taken once as
   * received: the summary counts rules by it, as the shared store keeps them (a SHA-256 of each of
   * 10,000 long rules per summary took most of its time).
   */
  ruleKey: Array<string | undefined>;
  priority: Priority[];
  hostname: Array<string | undefined>;
  tags: Array<readonly string[] | undefined>;
  namespace: Array<string | undefined>;
  /** Where the alert's text lies in the ring (offset -1: not in the ring, see `held`). */
  textOffset: number[];
  textLength: number[];
  /** What the alert counts against `maxBytes`: its text's bytes, or its request's without a text. */
  cost: number[];
  /** An alert whose text is not in the ring, held whole. */
  held: Array<HeldAlert | undefined>;
}

/** Columns that hold no alert yet. */
export function createColumns(): Columns {
  return {
    counter: [],
    ids: [],
    receivedAt: [],
    receivedAtMs: [],
    timeMs: [],
    bytes: [],
    source: [],
    rule: [],
    ruleKey: [],
    priority: [],
    hostname: [],
    tags: [],
    namespace: [],
    textOffset: [],
    textLength: [],
    cost: [],
    held: [],
  };
}

/**
 * A memory store's columns as its reads see them. Which receipt numbers it holds is asked for when
 * needed: a paced read waits between turns while alerts are added and evicted.
 */
export interface StoreColumns {
  readonly col: Columns;
  /** Where the alerts' texts live (text-ring.ts). */
  readonly ring: TextRing;
  /** Receipt numbers of the alerts with another id. */
  readonly byId: IdIndex<number>;
  readonly slotOf: (seq: number) => number;
  /** Receipt number of the oldest held alert. */
  readonly first: () => number;
  /** Receipt number of the next alert to be added. */
  readonly next: () => number;
  /** The prefix of this process's ids (see `Columns.counter`), once an added alert brought one. */
  readonly ownPrefix: () => string | undefined;
}
