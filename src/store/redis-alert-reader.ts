import type { Logger } from 'pino';
import type { AlertFeed } from '../alerts/alert-feed.js';
import { viewHeldAlert } from '../alerts/held-alert.js';
import { isAfter, type StorePosition } from '../alerts/store-position.js';
import { countedLines } from '../logging/counted-lines.js';
import { createDeliveredEntries } from './delivered-entries.js';
import { logReadGaps } from './log-read-gaps.js';
import { createPageSizer } from './page-size.js';
import { decodeEntryFields } from './entry-fields.js';
import { holdEntry, streamPosition, type RedisKeys } from './redis-alert-entry.js';
import { isLastingReply, type RedisConnection } from './redis-connection.js';
import type { StoreMetrics } from './store-metrics.js';
import type { UnreadableEntries } from './skip-unreadable-entries.js';
import { createRedisClock, streamIdSince } from './redis-clock.js';
import { StoreUnavailableError } from './store-unavailable-error.js';
import { promotedFrom, readReplicationIds, type ReplicationIds } from './replication-ids.js';
import { findReadGap, LINEAGE_COUNT_MAX, STREAM_EDGES_SCRIPT, streamEdges } from './stream-read-gap.js';
import type { WrittenAlert } from './settled-writes.js';
import { readUnreadKeptEntries } from './unread-kept-entries.js';

/** At most one `store_read_refused` line per this many milliseconds (the first at once). */
export const REFUSED_LOG_EVERY_MS = 60_000;

// Of the replies the connection rejects as StoreUnavailableError with its link kept, those that may
// last (redis-connection.ts): no alert reaches this replica's listeners while they do, with
// falco_store_up 1, so they are said as refusals, as they were before the connection told them. A
// failover's UNBLOCKED and a restart's LOADING pass (debug).
const lastingReply = (error: StoreUnavailableError): Error | undefined =>
  isLastingReply(error.cause) ? (error.cause as Error) : undefined;

export interface AlertReaderOptions {
  /** A connection of its own: a blocking read holds it. */
  connection: RedisConnection;
  keys: RedisKeys;
  feed: AlertFeed;
  metrics: Pick<StoreMetrics, 'readGap'>;
  logger: Logger;
  /** Skips the entries whose stored texts are not readable (one per process, shared with the reads). */
  unreadable: UnreadableEntries;
  /** How long one XREAD blocks; the link's own deadline is this plus its command timeout. */
  blockMs?: number;
  commandTimeoutMs?: number;
  /**
   * Through Sentinel: an alert the old master took that the promoted one lacks was not confirmed by
   * every replica (the promoted one had not), and the replica that took it writes it again
   * (replica-confirmations.ts). Each link up then asks Redis's replication ids (`INFO replication`)
   * to tell such a failover.
   */
  lostWritesResent?: boolean;
}

/** A running live reader. */
export interface AlertReader {
  stop(): void;
  /**
   * An alert this replica wrote (Redis answered its stream id) that Redis lost since, not trimmed
   * (restarted from a snapshot older than it): told as a gap with the next read (one gap with that
   * read's own), unless this reader published it or a gap told since its link came up covers it.
   */
  writtenLost(write: WrittenAlert): void;
}

/**
 * Feeds this process's live listeners (SSE clients, trigger verification) from the shared stream,
 * so every replica sees every alert, its own included, in stream order. Starts at the moment the
 * process started and, after an outage, resumes where it stopped. Alerts removed from the stream
 * before it read them (it fell behind the trim: paused, cut off, slower than the writers) are
 * published as a gap, before the alerts read after them, and counted and logged.
 */
export function startAlertReader(options: AlertReaderOptions): AlertReader {
  const { connection: conn, keys, feed, logger } = options;
  const blockMs = options.blockMs ?? 2_000;
  const deadlineMs = blockMs + (options.commandTimeoutMs ?? 2_000);
  const gaps = logReadGaps(options.metrics, logger);
  // Reads Redis refuses, retried every 200 ms: logged only at debug, an ACL without @blocking left
  // every live stream and trigger verification without an alert (613 stored, none streamed here),
  // falco_store_up 1, and not a line at warn. The first at once, then at most a line a minute.
  const refusals = countedLines<unknown>(REFUSED_LOG_EVERY_MS, (count, err) =>
    logger.warn(
      { event: 'store_read_refused', count, err },
      "Redis refused the live read: this replica's live stream clients and trigger runs get no alerts from the shared store",
    ),
  );
  // From this process's start, in Redis's clock (stream ids begin with it, in ms), asked at the
  // first read: alerts this process queued while Redis was still unreachable at start reach its
  // listeners once written. Not Date.now(): this node's clock may run ahead of Redis's node (all
  // alerts of that lead went unpublished) or behind (earlier alerts published again as new).
  const startedAt = performance.now();
  let lastId: string | undefined;
  let stopped = false;
  let refusedLogged = false;
  // Few entries a read while the recent alerts are large, up to 500 while they are small.
  const sizer = createPageSizer();
  let wake: (() => void) | undefined;
  // A link up since the stream's lineage was last checked (Redis may have restarted meanwhile).
  let lineageUnchecked = false;
  // The replication ids of this link's Redis (asked at its first read), and of the one whose stream
  // the counts below were taken of: a failover shows as the one promoted from the other.
  let linkIds: ReplicationIds | undefined;
  let idsUnasked = options.lostWritesResent === true;
  let countedOn: ReplicationIds | undefined;
  // An alert this replica wrote that Redis lost (writtenLost), to tell with the next read's gap; and
  // the newest position a gap told since the link came up covered.
  let lostWrite: WrittenAlert | undefined;
  let toldThrough: StorePosition | undefined;
  conn.onUp(() => {
    lineageUnchecked = true;
    toldThrough = undefined;
    idsUnasked = options.lostWritesResent === true;
    linkIds = undefined;
    wake?.();
  });
  // What it published last: after the stream changed under it, which of the entries the new one
  // holds it published already.
  const delivered = createDeliveredEntries(LINEAGE_COUNT_MAX);
  // True once the stream found changed was walked for the entries this reader never published (once
  // a change: a walk cut short by a dropped link is made again, and goes on from the newest of them
  // it published).
  let walked = false;

  async function untilUp(): Promise<void> {
    if (conn.isUp() || stopped) return;
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, 1_000).unref();
    });
  }

  // How many entries the stream had ever taken at the last read (`entries-added`). Fewer later: the
  // stream was made again, without entries this reader may not have read (Redis restarted without
  // persistence or from an older snapshot, the key evicted or deleted). Nothing about it told,
  // clients and trigger runs missed the alerts written just before it (the reader had not read
  // them) without a word, and dashboards kept lists that no replica answers any more.
  // Not enough alone: back from a restart, the blocking read returns on the first write, and the
  // alerts every replica queued meanwhile (rounds of up to 2,048) are in the count by then; more of
  // them than the stream had ever taken (or than a snapshot lost) hid the new stream. So, at the
  // first read after each link up, the script also counts the entries after the stream's newest id
  // at the read before (`generatedBefore`): more than were added since, it was made again.
  let addedBefore: number | undefined;
  let generatedBefore: string | undefined;
  // The newest entry id removed from the stream, asked behind the read on the same link (no round
  // trip of its own; Redis runs it once the read is answered). Undefined when Redis refuses it (an
  // ACL without XINFO): then gaps go unseen, as before, rather than the live stream stopping.
  function edges(lineage: string[]): Promise<ReturnType<typeof streamEdges>> {
    return conn.send(['EVAL', STREAM_EDGES_SCRIPT, '1', keys.alerts, ...lineage], deadlineMs).then(
      (reply) => streamEdges(reply),
      (error: unknown) => {
        if (error instanceof StoreUnavailableError) throw error;
        if (!refusedLogged)
          logger.warn(
            { event: 'store_read_gap_unknown', err: error },
            'Redis refused XINFO STREAM in a script: alerts removed before the live reader read them go unnoticed',
          );
        refusedLogged = true;
        return {};
      },
    );
  }

  // Refused (an ACL without INFO): unknown, and a failover is told as a gap, as before. Said once:
  // the gap's line alone gave no hint why each failover was one.
  let idsRefusedLogged = false;

  // The lost alert to tell, unless this reader published it, or a gap told since the link came up
  // covers it (the stream made again by the restart that lost it, told first).
  function takeLostWrite(): WrittenAlert | undefined {
    const write = lostWrite;
    lostWrite = undefined;
    if (!write || delivered.has(write.streamId, write.id)) return undefined;
    return toldThrough && !isAfter(streamPosition(write.streamId), toldThrough) ? undefined : write;
  }

  async function askLinkIds(): Promise<void> {
    if (!idsUnasked) return;
    idsUnasked = false;
    const info = await conn.send(['INFO', 'replication'], deadlineMs).catch((error: unknown) => {
      // Down or cut off: asked again on the next link.
      if (error instanceof StoreUnavailableError || idsRefusedLogged) return undefined;
      idsRefusedLogged = true;
      logger.warn(
        { event: 'store_replication_unknown', err: error },
        "Redis refused INFO replication (allow +info): each failover that loses the old master's last writes is told to live streams as a gap",
      );
      return undefined;
    });
    linkIds = readReplicationIds(info);
  }

  // Publishes a stream entry (with its position: a stream replay drops what it read already, and
  // this reader runs behind it); the size of its alert. One it published already is left out: after
  // the walk below, the read may go back over entries the walk published. Told by its fields, before
  // its text is read whole (ingest's parser, 2-3 times JSON.parse alone), which is then never read.
  function publish(raw: unknown): number {
    const fields = decodeEntryFields(raw);
    if (delivered.has(fields.streamId, fields.id)) return fields.bytes;
    const decoded = options.unreadable.decode(fields.streamId, () => holdEntry(fields), undefined);
    if (!decoded) return 0;
    const { streamId, held } = decoded;
    delivered.add(streamId, held.id);
    feed.publish(viewHeldAlert(held), streamPosition(streamId));
    return held.bytes;
  }

  // A time of Redis's clock (a stream id's) on this process's: the nodes' clocks may be minutes
  // apart, and a run's start is on this one's. Redis's clock is asked at most every 10 s
  // (redis-clock.ts): a reader behind the trim finds a gap at nearly every read, and a TIME each
  // doubled its round trips. Its own link's deadline: a TIME may wait behind a blocking read.
  const clock = createRedisClock(conn, deadlineMs);
  const onThisClock = async (redisMs: number) => Date.now() - ((await clock.nowMs()) - redisMs);

  async function step(): Promise<void> {
    lastId ??= await streamIdSince(conn, startedAt, deadlineMs);
    const count = String(sizer.next());
    const args = ['XREAD', 'COUNT', count, 'BLOCK', String(blockMs), 'STREAMS', keys.alerts, lastId];
    const lineage =
      lineageUnchecked && generatedBefore !== undefined && addedBefore !== undefined
        ? [generatedBefore, String(addedBefore)]
        : [];
    const [reply, { removed, added, generated, after }] = await Promise.all([
      conn.send(args, deadlineMs),
      edges(lineage),
      askLinkIds(),
    ]);
    const entries = (reply as Array<[string, unknown[]]> | null)?.[0]?.[1] ?? [];
    const nextId = (entries[0] as [string] | undefined)?.[0];
    // Made again, or without some of the entries it had: what it held after `lastId` is unknown, so
    // a gap is assumed up to the first entry read from the new one (once there is one to read: until
    // then the counts are kept as they were).
    let remade =
      added !== undefined &&
      addedBefore !== undefined &&
      (added < addedBefore || (after !== undefined && after > added - addedBefore));
    if (remade && !walked) {
      // Before the alerts read after `lastId`: a promoted replica's own entries written while this
      // reader still read the old master may come before it. One it published kept: the stream was
      // not made anew; and after a failover the old master's entries it lacks are written again by
      // the replicas that took them, as new entries: nothing is missed. Before, every failover in
      // which the old master took alerts after the promotion (4 of 5 SENTINEL FAILOVERs under load
      // here) sent event: truncated to every live stream, none of whose clients had missed an alert.
      let unread = 0;
      const kept = await readUnreadKeptEntries({
        send: (command) => conn.send(command, deadlineMs),
        keys,
        lastId,
        delivered,
        maxWalk: LINEAGE_COUNT_MAX,
        pageSize: sizer,
        unread: (raw) => {
          publish(raw);
          unread += 1;
        },
      });
      walked = true;
      // Unless the new stream removed entries after the one kept (trimmed or shed): some of those
      // this reader never published may be among them.
      const trimmedPast =
        kept !== undefined && removed !== undefined && isAfter(streamPosition(removed), streamPosition(kept));
      if (
        kept !== undefined &&
        !trimmedPast &&
        options.lostWritesResent &&
        promotedFrom(countedOn, linkIds)
      ) {
        remade = false;
        logger.info(
          { event: 'store_read_failover', afterId: lastId, unread },
          "the promoted master lacks alerts the old one took after it was promoted: the replicas that took them write them again, and this replica's live streams missed none",
        );
      }
      // The new stream's ids end before where it had read (its Redis's clock behind the old one's):
      // what it takes next gets ids before `lastId` too, and a read after `lastId` skipped it until
      // that clock caught up (a minute behind: a minute of alerts never published, and through
      // Sentinel store_read_failover said none was missed). When the walk found an entry it had
      // published, it covered every entry up to the newest id the stream held when it began: the
      // read goes on after that id, and what the walk published after it is left out when read again.
      if (
        kept !== undefined &&
        generated !== undefined &&
        isAfter(streamPosition(lastId), streamPosition(generated))
      )
        lastId = generated;
    }
    if (added !== undefined && (!remade || nextId !== undefined)) {
      addedBefore = added;
      generatedBefore = generated;
      countedOn = linkIds;
      walked = false;
      if (lineage.length > 0) lineageUnchecked = false;
    }
    const through =
      remade && nextId !== undefined
        ? streamPosition(nextId)
        : removed
          ? findReadGap(
              streamPosition(lastId),
              nextId === undefined ? undefined : streamPosition(nextId),
              streamPosition(removed),
            )
          : undefined;
    // This read's gap and this replica's lost alert told as one, through the later: the restart that
    // lost the alert most often made the stream again too (told once the new one has an entry to
    // read), and the two were told as two gaps.
    const lost = remade && nextId === undefined ? undefined : takeLostWrite();
    const lostAt = lost && streamPosition(lost.streamId);
    const told = lostAt && (!through || isAfter(lostAt, through)) ? lostAt : through;
    if (told) {
      gaps.found({
        afterId: lastId,
        nextId,
        removedId: removed ?? '',
        remade: remade || undefined,
        lostWriteId: lost?.streamId,
      });
      // The writer knows when it wrote its alert, on this clock.
      feed.publishGap({
        through: told,
        storedAtMs: told === lostAt ? lost!.settledAtMs : await onThisClock(told[0]),
      });
      toldThrough = told;
      // Nothing read: the next read starts past what was removed, so it does not find this gap again.
      if (through && nextId === undefined && removed) lastId = removed;
    }
    const sizes: number[] = [];
    for (const raw of entries) {
      lastId = (raw as [string])[0];
      sizes.push(publish(raw));
    }
    sizer.saw(sizes);
  }

  void (async () => {
    while (!stopped) {
      await untilUp();
      if (stopped || !conn.isUp()) continue;
      await step().catch(async (error: unknown) => {
        // Down or hung: falco_store_up and store_down say so; a failover (UNBLOCKED) or a restart's
        // loading passes (redis-connection.ts tells those too; said at warn as refusals, they named
        // an ACL-like cause at each failover). Refused by Redis (an ACL without XREAD, @blocking or
        // TIME; a wrong type under the key), or busy or cut from its master for as long as that
        // lasts (lastingReply): said at warn.
        const lasting = error instanceof StoreUnavailableError ? lastingReply(error) : error;
        if (lasting === undefined)
          logger.debug({ event: 'store_read_failed', err: error }, 'live read from the shared store failed');
        else refusals.add(1, lasting);
        await new Promise((resolve) => setTimeout(resolve, 200).unref());
      });
    }
  })();
  return {
    stop() {
      stopped = true;
      gaps.stop();
      refusals.flush();
      wake?.();
    },
    writtenLost(write) {
      // Told with the next read's gap, before the alerts that read returns.
      if (!stopped) lostWrite = write;
    },
  };
}
