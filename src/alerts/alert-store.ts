import type { Priority } from './priority.js';
import type { StoredAlert } from './stored-alert.js';

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
  /** Alerts from this Kubernetes namespace (`k8s.ns.name`). */
  namespace?: string;
  /** Only alerts whose own `time` is at or after this epoch-millisecond instant. */
  sinceMs?: number;
  /** At most this many, newest first. */
  limit: number;
}

/**
 * Recent accepted alerts. The in-memory implementation is bounded; a shared backend can take its
 * place behind this interface.
 */
export interface AlertStore {
  add(entry: StoredAlert): void;
  get(id: string): StoredAlert | undefined;
  /** Matching alerts, newest received first. */
  query(query: AlertQuery): StoredAlert[];
  /** How many alerts are held now. */
  count(): number;
}
