import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PendingWrite } from '../../src/store/pending-writes.js';
import { createReplicaConfirmations, keepUntrimmed } from '../../src/store/replica-confirmations.js';

const writes = (...ids: string[]): PendingWrite[] => ids.map((id) => ({ id, args: [], bytes: 1 }));
const ids = (taken: PendingWrite[]) => taken.map((write) => write.id);

// ROLE's reply on a master with these replicas online.
const master = (online: number) => [
  'master',
  100,
  Array.from({ length: online }, (_, i) => ['127.0.0.1', String(6380 + i), '100']),
];

// Every instance made, closed after each test (its looks while none is online stop).
const made: Array<{ close(): void }> = [];
afterEach(() => {
  for (const replicas of made.splice(0)) replicas.close();
  vi.useRealTimers();
});

// `replies` answer the WAITs in turn (0 once used up), `roles` the ROLEs (the last one repeats).
function confirmations(
  replies: Array<number | Error>,
  max = 10,
  roles: unknown[] = [master(1)],
  lookEveryMs = 1_000,
  markKey?: string,
) {
  const sent: string[][] = [];
  const looks: boolean[] = [];
  const givenUp: number[] = [];
  const confirmed: string[][] = [];
  const replicas = createReplicaConfirmations({
    send: (args) => {
      sent.push(args);
      const reply =
        args[0] === 'ROLE' ? (roles.length > 1 ? roles.shift() : roles[0]) : (replies.shift() ?? 0);
      return reply instanceof Error ? Promise.reject(reply) : Promise.resolve(reply);
    },
    max,
    maxBytes: 100,
    waitMs: 250,
    lookEveryMs,
    markKey,
    onLook: (online) => looks.push(online),
    onGiveUp: (count) => givenUp.push(count),
    onConfirmed: (taken) => confirmed.push(ids(taken)),
  });
  made.push(replicas);
  const waits = () => sent.filter(([command]) => command === 'WAIT');
  return { replicas, sent, waits, looks, givenUp, confirmed };
}

describe('replica confirmations', () => {
  it('asks Redis to wait for the replica online after each round, and forgets the alerts once it has them', async () => {
    const { replicas, waits } = confirmations([0, 1]);
    await replicas.confirm(writes('a', 'b'));
    await replicas.confirm(writes('c'));
    replicas.relinked();

    expect(waits()).toEqual([
      ['WAIT', '1', '250'],
      ['WAIT', '1', '250'],
    ]);
    expect(replicas.takeUnconfirmed()).toEqual([]);
  });

  // Regression: each round asked for one replica (WAIT 1), so with two online the one that did not
  // have the alerts could be promoted while they were taken as confirmed: lost from every node.
  it('waits for every replica ROLE lists online, and keeps a round only some of them confirmed', async () => {
    const { replicas, sent, confirmed } = confirmations([1, 2], 10, [master(2)]);

    expect(await replicas.confirm(writes('a'))).toBe(false);
    expect(replicas.replicaOnline()).toBe(true);
    expect(await replicas.confirm(writes('b'))).toBe(true);
    // The later WAIT all met covers the round before it; a partial answer asks no ROLE.
    expect(confirmed).toEqual([['a', 'b']]);
    expect(sent).toEqual([['ROLE'], ['WAIT', '2', '250'], ['WAIT', '2', '250']]);
  });

  it('gives a round only some replicas confirmed back after the link came back', async () => {
    const { replicas } = confirmations([1], 10, [master(2)]);
    await replicas.confirm(writes('a'));

    replicas.relinked();
    expect(ids(replicas.takeUnconfirmed())).toEqual(['a']);
  });

  it('asks ROLE again while writing once its count is lookEveryMs old, and waits for the replicas online then', async () => {
    vi.useFakeTimers();
    const { replicas, sent } = confirmations([1, 1, 1, 1], 10, [master(1), master(2), master(1)]);
    await replicas.confirm(writes('a'));
    await replicas.confirm(writes('b'));
    await vi.advanceTimersByTimeAsync(1_000);
    // A replica joined: one WAIT for it too, and the round stays kept until both confirm.
    expect(await replicas.confirm(writes('c'))).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    // It left again: the next look sees it, and the WAIT for the one left covers the round before.
    expect(await replicas.confirm(writes('d'))).toBe(true);

    expect(sent.map((args) => args.join(' '))).toEqual([
      'ROLE',
      'WAIT 1 250',
      'WAIT 1 250',
      'ROLE',
      'WAIT 2 250',
      'ROLE',
      'WAIT 1 250',
    ]);
  });

  // What a replica confirmed is written again no more: if Redis loses it later (a restart from an
  // older snapshot), the writer tells it as lost (settled-writes.ts).
  it('tells which alerts a WAIT confirmed, oldest first, and none it left kept', async () => {
    const { replicas, confirmed } = confirmations([0, 1, 0]);
    await replicas.confirm(writes('a', 'b'));
    await replicas.confirm(writes('c'));
    await replicas.confirm(writes('d'));

    expect(confirmed).toEqual([['a', 'b', 'c']]);
  });

  it('gives the alerts no replica was known to hold back once, oldest first, after the link came back', async () => {
    const { replicas } = confirmations([0, new Error('link dropped')]);
    await replicas.confirm(writes('a', 'b'));
    await replicas.confirm(writes('c'));
    expect(replicas.takeUnconfirmed()).toEqual([]);

    replicas.relinked();
    expect(ids(replicas.takeUnconfirmed())).toEqual(['a', 'b', 'c']);
    expect(replicas.takeUnconfirmed()).toEqual([]);
  });

  it('does not count a replica answering on the new link for the writes of the old one', async () => {
    const { replicas } = confirmations([0, 1]);
    await replicas.confirm(writes('a'));
    replicas.relinked();
    await replicas.confirm(writes('b'));

    expect(ids(replicas.takeUnconfirmed())).toEqual(['a', 'b']);
  });

  it('keeps alerts taken back for the next relink, in front: a WAIT on this link does not confirm them', async () => {
    const { replicas } = confirmations([0, 1, 1]);
    await replicas.confirm(writes('a'));
    replicas.relinked();
    const taken = replicas.takeUnconfirmed();
    await replicas.confirm(writes('b'));
    replicas.keepForRelink(taken);
    await replicas.confirm(writes('c'));

    expect(ids(replicas.takeUnconfirmed())).toEqual(['a', 'c']);
  });

  it('keeps alerts the master held after a relink, in front, until a WAIT every replica meets on the new link', async () => {
    const { replicas, confirmed } = confirmations([1, 1, 2, 2], 10, [master(2)]);
    await replicas.confirm(writes('a', 'b'));
    replicas.relinked();
    replicas.keepHeld(replicas.takeUnconfirmed());

    await replicas.confirm(writes('c'));
    expect(confirmed).toEqual([]);
    await replicas.confirm(writes('d'));
    expect(confirmed).toEqual([['a', 'b', 'c', 'd']]);
  });

  // Regression: since Redis 7.2 a WAIT waits for the link's last replicated write, and a new link
  // whose first round wrote only alerts the master held (skipped by the script: nothing replicated)
  // waited for nothing, so those alerts and the ones kept held counted as on every replica.
  it('sets the mark on each link before its first WAIT, so the WAIT covers what the master held', async () => {
    const { replicas, sent } = confirmations([2, 2, 2], 10, [master(2)], 1_000, 'x:link-mark');
    await replicas.confirm(writes('a'));
    await replicas.confirm(writes('b'));
    replicas.relinked();
    replicas.keepHeld(replicas.takeUnconfirmed());
    await replicas.confirm(writes('c'));

    const commands = sent
      .filter(([command]) => command !== 'ROLE')
      .map(([command, key]) => `${command} ${key}`);
    expect(commands).toEqual(['SET x:link-mark', 'WAIT 2', 'WAIT 2', 'SET x:link-mark', 'WAIT 2']);
    expect(sent.find(([command]) => command === 'SET')).toEqual(['SET', 'x:link-mark', '1', 'PX', '60000']);
  });

  it('sets the mark again at the next round when Redis refused it', async () => {
    const oom = new Error('OOM command not allowed when used memory > maxmemory');
    const { replicas, sent } = confirmations([oom, 2, 2, 2], 10, [master(2)], 1_000, 'x:link-mark');
    await replicas.confirm(writes('a'));
    await replicas.confirm(writes('b'));
    await replicas.confirm(writes('c'));

    const commands = sent.filter(([command]) => command !== 'ROLE').map(([command]) => command);
    expect(commands).toEqual(['SET', 'WAIT', 'SET', 'WAIT', 'WAIT']);
  });

  it('gives alerts the master held back again at the next relink while no WAIT confirmed them', async () => {
    const { replicas } = confirmations([1, 1], 10, [master(2)]);
    await replicas.confirm(writes('a'));
    replicas.relinked();
    replicas.keepHeld(replicas.takeUnconfirmed());
    await replicas.confirm(writes('b'));

    replicas.relinked();
    expect(ids(replicas.takeUnconfirmed())).toEqual(['a', 'b']);
  });

  // Regression: the oldest given up went uncounted, so nothing said a failover could now lose them.
  it('keeps at most max alerts, the newest, and tells how many it gave up', async () => {
    const { replicas, givenUp } = confirmations([0, 0], 3);
    await replicas.confirm(writes('a', 'b'));
    await replicas.confirm(writes('c', 'd'));
    replicas.relinked();

    expect(ids(replicas.takeUnconfirmed())).toEqual(['b', 'c', 'd']);
    expect(givenUp).toEqual([1]);
  });

  // Regression (review): a single-node Sentinel setup counted and logged every alert past max,
  // though with no replica there is nothing a failover could promote.
  it('tells of none it gave up while the master has no replica online', async () => {
    const { replicas, givenUp } = confirmations([], 3, [master(0)]);
    await replicas.confirm(writes('a', 'b'));
    await replicas.confirm(writes('c', 'd', 'e'));
    replicas.relinked();

    expect(ids(replicas.takeUnconfirmed())).toEqual(['c', 'd', 'e']);
    expect(givenUp).toEqual([]);
  });

  // Regression (review): a replica that lagged and then went away can still be promoted, so what
  // is given up after it left is at risk and counted; only a master that never had one is quiet.
  it('tells how many it gave up after a replica seen online went away', async () => {
    const { replicas, givenUp } = confirmations([0], 3, [master(1), master(0)]);
    await replicas.confirm(writes('a', 'b', 'c'));

    await replicas.confirm(writes('d', 'e', 'f'));

    expect(replicas.replicaOnline()).toBe(false);
    expect(givenUp).toEqual([3]);
  });

  it('tells how many it gave up when alerts taken for a relink come back past max', async () => {
    const { replicas, givenUp } = confirmations([0, 0], 3);
    await replicas.confirm(writes('a', 'b'));
    replicas.relinked();
    const taken = replicas.takeUnconfirmed();
    await replicas.confirm(writes('c', 'd'));

    replicas.keepForRelink(taken);

    expect(ids(replicas.takeUnconfirmed())).toEqual(['b', 'c', 'd']);
    expect(givenUp).toEqual([1]);
  });

  it('counts a round an online replica did not confirm in time as lagging', async () => {
    const { replicas } = confirmations([0]);

    expect(await replicas.confirm(writes('a'))).toBe(false);
    expect(replicas.replicaOnline()).toBe(true);
  });

  it('sends no WAIT while ROLE lists no replica online, and keeps the alerts until one confirms', async () => {
    const { replicas, waits, looks } = confirmations([1], 10, [master(0)]);

    expect(await replicas.confirm(writes('a'))).toBe(true);
    expect(await replicas.confirm(writes('b'))).toBe(true);
    expect(waits()).toEqual([]);
    expect(replicas.replicaOnline()).toBe(false);
    expect(looks).toEqual([false]);
    replicas.relinked();
    expect(ids(replicas.takeUnconfirmed())).toEqual(['a', 'b']);
  });

  it('looks again after lookEveryMs while none is online, and waits for the replica that came back', async () => {
    const { replicas, waits } = confirmations([1], 10, [master(0), master(1)], 0);
    await replicas.confirm(writes('a'));
    await replicas.confirm(writes('b'));
    replicas.relinked();

    expect(waits()).toEqual([['WAIT', '1', '250']]);
    expect(replicas.replicaOnline()).toBe(true);
    // Confirmed on the link that wrote them: none kept.
    expect(replicas.takeUnconfirmed()).toEqual([]);
  });

  it('ends a round at once when its WAIT found the only replica gone', async () => {
    const { replicas, sent } = confirmations([0], 10, [master(1), master(0)]);

    expect(await replicas.confirm(writes('a'))).toBe(true);
    await replicas.confirm(writes('b'));
    expect(sent.map(([command]) => command)).toEqual(['ROLE', 'WAIT', 'ROLE']);
  });

  it('waits on every round as before when Redis refuses ROLE', async () => {
    const { replicas, waits, looks } = confirmations([0, 0], 10, [new Error('NOPERM')]);

    expect(await replicas.confirm(writes('a'))).toBe(false);
    expect(await replicas.confirm(writes('b'))).toBe(false);
    expect(waits()).toHaveLength(2);
    expect(replicas.replicaOnline()).toBe(true);
    expect(looks).toEqual([]);
  });

  // Regression: looks were made only by rounds of writes, so a receiver that got no alert after the
  // replica came back read falco_store_replica_online 0 (over 66 s in a probe) with the replica online.
  it('looks again every lookEveryMs while none is online though nothing is written, until one is', async () => {
    vi.useFakeTimers();
    const { replicas, sent, looks } = confirmations([], 10, [master(0), master(0), master(1)]);
    await replicas.confirm(writes('a'));
    expect(replicas.replicaOnline()).toBe(false);

    await vi.advanceTimersByTimeAsync(1_000);
    expect(looks).toEqual([false, false]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(looks).toEqual([false, false, true]);
    expect(replicas.replicaOnline()).toBe(true);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(sent.filter(([command]) => command === 'ROLE')).toHaveLength(3);
  });

  it('stops looking once closed', async () => {
    vi.useFakeTimers();
    const { replicas, sent } = confirmations([], 10, [master(0)]);
    await replicas.confirm(writes('a'));
    replicas.close();
    await vi.advanceTimersByTimeAsync(5_000);

    expect(sent).toEqual([['ROLE']]);
  });

  it('owes the alerts kept from before a relink until they are taken', async () => {
    const { replicas } = confirmations([0]);
    await replicas.confirm(writes('a'));
    expect(replicas.owed()).toBe(false);

    replicas.relinked();
    expect(replicas.owed()).toBe(true);
    replicas.takeUnconfirmed();
    expect(replicas.owed()).toBe(false);
  });

  it('waits for nothing after a round that wrote nothing', async () => {
    const { replicas, sent } = confirmations([]);
    await replicas.confirm([]);

    expect(sent).toEqual([]);
  });
});

describe('keepUntrimmed', () => {
  const at = (id: string, streamId?: string): PendingWrite => ({ id, args: [], bytes: 1, streamId });

  it('without max-deleted-entry-id (before Redis 7): keeps those no older than the oldest entry, inside the retention', () => {
    const writes = [
      at('trimmed', '100-0'),
      at('same-ms', '200-1'),
      at('oldest', '200-2'),
      at('newer', '300-0'),
    ];

    expect(ids(keepUntrimmed(writes, { first: '200-2' }, 0))).toEqual(['oldest', 'newer']);
    expect(ids(keepUntrimmed(writes, {}, 250))).toEqual(['newer']);
  });

  it('keeps those after the newest removed entry, however old the oldest held one', () => {
    const writes = [
      at('trimmed', '100-0'),
      at('last-trimmed', '200-1'),
      at('never-had', '200-2'),
      at('newer', '300-0'),
    ];

    // A master promoted before it had them: nothing removed, its entries all newer than the alerts.
    expect(ids(keepUntrimmed(writes, { removed: '0-0', first: '900-0' }, 0))).toEqual(ids(writes));
    expect(ids(keepUntrimmed(writes, { removed: '200-1', first: '900-0' }, 0))).toEqual([
      'never-had',
      'newer',
    ]);
    expect(ids(keepUntrimmed(writes, { removed: '200-1' }, 250))).toEqual(['newer']);
  });

  it('keeps an alert of unknown place, and every alert of an empty stream', () => {
    expect(ids(keepUntrimmed([at('unknown'), at('a', '1-0')], {}, 0))).toEqual(['unknown', 'a']);
  });
});
