import type { Priority } from './priority.js';
import type { StorePosition } from './store-position.js';
import type { StoredAlert } from './stored-alert.js';

/**
 * Takes what the dashboard's summary counts of each alert received in a window, newest first: its
 * receipt time, priority and rule, a rule longer than FIELD_CAP in its capped form
 * (store/capped-text.ts), as the shared store keeps it: one form per name all the same. Counted as
 * read, not gathered first: an object per alert of a 300,000-alert window was most of what the
 * summary cost the loop, in young-generation collections of objects that all survived them.
 */
export type SummaryCount = (receivedAtMs: number, priority: Priority, rule: string) => void;

/** How full a store that also evicts by bytes is, as seen from one instant on (the summary's window). */
export interface ByteFill {
  /**
   * Bytes it surely takes before it evicts an alert received at or after that instant, when no new
   * alert is larger than `largest`.
   */
  free: number;
  /** The largest alert it holds, in the bytes it counts against its budget (0 when it holds none). */
  largest: number;
}

/** Filters for listing recent alerts; every given filter must match. */
export interface AlertQuery {
  rule?: string;
  priority?: Priority;
  /** At least this severe. */
  minPriority?: Priority;
  source?: string;
  hostname?: string;
  /** Alerts carrying this tag. */
  tag?: string;
  /** Alerts from this Kubernetes namespace (`k8s.ns.name`, or a k8saudit alert's `ka.target.namespace`). */
  namespace?: string;
  /** Only alerts whose own `time` is at or after this epoch-millisecond instant. */
  sinceMs?: number;
  /** At most this many, newest first. */
  limit: number;
  /**
   * Stop once the alerts found hold more than this many received bytes (`bytes`; the one that
   * crosses it included, so a reader can tell the list was cut): a read never copies more out of
   * the store.
   */
  maxBytes?: number;
  /**
   * What the reader holds in the readers' budget for this list: a shared store reads no more texts
   * ahead than this (past a run of entries whose text is not readable), on top of its other bounds.
   * It never changes the answer, only where a text is read; the in-memory store ignores it.
   */
  readAheadBytes?: number;
}

/** What `query` found: the matching alerts, newest received first. */
export interface AlertsFound {
  alerts: StoredAlert[];
  /**
   * True when a shared store's read stopped at a bound of its own (STORE_MAX_BYTES of alerts read,
   * or about 2 x STORE_MAX_ALERTS entries) before the oldest alerts, with fewer than `limit` found
   * and no alert past `maxBytes`: older matching ones may be left out, and a reader must say so.
   */
  cut?: true;
}

/** What `after` read: the alerts, oldest first, and for a shared store where its read ended. */
export interface AlertsAfter {
  alerts: StoredAlert[];
  /**
   * The position of the newest alert the read saw (of the given one when none came after it). The
   * shared store's live reader runs behind its reads: what it publishes up to here was read already.
   */
  through?: StorePosition;
  /**
   * True when some alerts after the given one were evicted or expired before the read reached them:
   * `alerts` does not follow on from the client's id, and it should be told it missed some.
   */
  gap?: boolean;
  /**
   * True when the given alert was written again (a shared store's failover lost it with the master
   * that held it): the client may never have had alerts the new master took before it, and should
   * be told so. `alerts` go on from its earlier place when that came first.
   */
  moved?: boolean;
  /**
   * True when a shared store's read stopped at a bound of its own (as AlertsFound's `cut`) before
   * the given alert: the oldest alerts after it are left out, and the client should be told so.
   */
  cut?: true;
}

/**
 * Recent accepted alerts: in memory (one process) or in Redis (shared by every replica). `add` is
 * synchronous for both, so ingest never waits on the store; reads are asynchronous.
 */
export interface AlertStore {
  /** `utf8`: `entry.json`'s exact UTF-8 bytes, when the caller has them (the received body). */
  add(entry: StoredAlert, utf8?: Buffer): void;
  /**
   * Only for a shared store: false when adding an alert of `bytes` received bytes now would drop a
   * queued alert whose answer waits for its write (the queue full while Redis answers, slower than
   * alerts arrive). Ingest then refuses the new alert instead: a `202` means Redis has the alert.
   */
  admits?(bytes: number): boolean;
  get(id: string): Promise<StoredAlert | undefined>;
  /**
   * Only for a store that knows it without reading the alert's text (the in-memory one): the
   * received bytes (`bytes`) of the alert with this id, or undefined when none is held. A reader
   * reserves them before the text is read.
   */
  bytesOf?(id: string): number | undefined;
  /** Matching alerts, newest received first. */
  query(query: AlertQuery): Promise<AlertsFound>;
  /**
   * Alerts received after the one with this id, oldest first: the newest `limit` of them, and of
   * those only the newest up to `maxBytes` of received bytes (`bytes`; the alert that crosses it
   * included, so a reader can tell it was cut). Undefined when the id is not held.
   */
  after(id: string, limit: number, maxBytes?: number): Promise<AlertsAfter | undefined>;
  /**
   * Gives `count` what the dashboard's summary counts of the alerts received at or after this
   * instant, newest first: their receipt time, priority and rule, not their text (a window may hold
   * many); resolves once it has given them all.
   */
  receivedSince(sinceMs: number, count: SummaryCount): Promise<void>;
  /** How many alerts are held now. */
  count(): Promise<number>;
  /**
   * Only for a store that evicts oldest-first by bytes too (STORE_MAX_BYTES; the in-memory one):
   * what it holds against that bound, so the dashboard can foresee those evictions as well.
   */
  byteFill?(sinceMs: number): ByteFill;
  /** Resolves once every alert added so far is readable (at once for memory; written for Redis). */
  flush(): Promise<void>;
  /**
   * What ingest awaits before answering: resolves once the alerts added so far are readable on
   * every replica. Undefined when there is nothing to wait for: in memory they are at once; a
   * shared store that is unreachable, failing or slow keeps them queued and answers do not wait.
   */
  written(): Promise<void> | undefined;
  /** False while a shared store cannot be reached (the in-memory one is always available). */
  available(): boolean;
}
