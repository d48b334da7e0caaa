/** When the shared store last confirmed that this replica holds each of its runs. */
export interface HoldConfirmations {
  /** The store took or renewed this replica's hold on the run just now. */
  confirm(id: string): void;
  forget(id: string): void;
  /**
   * True when the run was held here and no hold was confirmed since for the store's retention:
   * another replica may have taken it over, settled and counted it, and every trace of that (its
   * hold, the verdict) has expired with the run, so a save would go through and count it again.
   */
  lapsed(id: string): boolean;
}

/**
 * Confirmations of holds on runs. Another replica can take a run over only a lease after this
 * replica's last confirmed hold, and the one that settles it keeps the run and its hold for the
 * retention from then on: until `retentionMs` after that confirmation, a save from here that the
 * takeover should refuse is refused; later, nothing may be left to refuse it.
 */
export function createHoldConfirmations(
  retentionMs: number,
  // Monotonic: the retention runs in Redis's time. On the wall clock a step forward past it gave up
  // every run this replica still held, and a step back kept saving runs it may have lost.
  now = () => performance.now(),
): HoldConfirmations {
  const confirmedAt = new Map<string, number>();
  return {
    confirm: (id) => void confirmedAt.set(id, now()),
    forget: (id) => void confirmedAt.delete(id),
    lapsed(id) {
      const at = confirmedAt.get(id);
      return at !== undefined && now() - at >= retentionMs;
    },
  };
}
