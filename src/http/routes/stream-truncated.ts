// A comment for people reading the stream, and `event: truncated` for the page: EventSource
// hides comments, and a page that missed alerts must load its list again.
const truncated = (what: string, reason: string) =>
  `: ${what} truncated (${reason})\nevent: truncated\ndata: ${JSON.stringify({ reason })}\n\n`;

/** Tells a reconnecting client that its replay left out alerts it missed, and why. */
export const replayTruncated = (reason: string): string => truncated('replay', reason);

/**
 * Tells a live client that this replica's reader of the shared store never saw some alerts: they
 * were removed (STORE_MAX_ALERTS, STORE_RETENTION, maxmemory) before it read them.
 */
export const LIVE_GAP = truncated(
  'live stream',
  'alerts were removed from the shared store before this replica read them',
);
