import { describe, expect, it } from 'vitest';
import type { PendingWrite } from '../../src/store/pending-writes.js';
import { createReplicaConfirmations, keepUntrimmed } from '../../src/store/replica-confirmations.js';

const writes = (...ids: string[]): PendingWrite[] => ids.map((id) => ({ id, args: [], bytes: 1 }));
const ids = (taken: PendingWrite[]) => taken.map((write) => write.id);

function confirmations(replies: Array<number | Error>, max = 10) {
  const sent: string[][] = [];
  const replicas = createReplicaConfirmations({
    send: (args) => {
      sent.push(args);
      const reply = replies.shift() ?? 0;
      return reply instanceof Error ? Promise.reject(reply) : Promise.resolve(reply);
    },
    max,
    maxBytes: 100,
    waitMs: 250,
  });
  return { replicas, sent };
}

describe('replica confirmations', () => {
  it('asks Redis to wait for one replica after each round, and forgets the alerts once one has them', async () => {
    const { replicas, sent } = confirmations([0, 1]);
    await replicas.confirm(writes('a', 'b'));
    await replicas.confirm(writes('c'));
    replicas.relinked();

    expect(sent).toEqual([
      ['WAIT', '1', '250'],
      ['WAIT', '1', '250'],
    ]);
    expect(replicas.takeUnconfirmed()).toEqual([]);
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

  it('keeps at most max alerts, the newest', async () => {
    const { replicas } = confirmations([0, 0], 3);
    await replicas.confirm(writes('a', 'b'));
    await replicas.confirm(writes('c', 'd'));
    replicas.relinked();

    expect(ids(replicas.takeUnconfirmed())).toEqual(['b', 'c', 'd']);
  });

  it('waits for nothing after a round that wrote nothing', async () => {
    const { replicas, sent } = confirmations([]);
    await replicas.confirm([]);

    expect(sent).toEqual([]);
  });
});

describe('keepUntrimmed', () => {
  const at = (id: string, streamId?: string): PendingWrite => ({ id, args: [], bytes: 1, streamId });

  it('keeps the alerts written no earlier than the oldest stream entry and inside the retention', () => {
    const writes = [
      at('trimmed', '100-0'),
      at('same-ms', '200-1'),
      at('oldest', '200-2'),
      at('newer', '300-0'),
    ];

    expect(ids(keepUntrimmed(writes, '200-2', 0))).toEqual(['oldest', 'newer']);
    expect(ids(keepUntrimmed(writes, undefined, 250))).toEqual(['newer']);
  });

  it('keeps an alert of unknown place, and every alert of an empty stream', () => {
    expect(ids(keepUntrimmed([at('unknown'), at('a', '1-0')], undefined, 0))).toEqual(['unknown', 'a']);
  });
});
