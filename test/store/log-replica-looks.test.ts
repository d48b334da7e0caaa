import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { logReplicaLooks, NO_REPLICA_LOG_EVERY_MS } from '../../src/store/log-replica-looks.js';

function looksLogged() {
  const events: unknown[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => events.push(JSON.parse(line).event) });
  return { look: logReplicaLooks(logger), events };
}

describe('logReplicaLooks', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('warns once while the master has no replica, and says when one is back', () => {
    const { look, events } = looksLogged();
    look(true);
    look(false);
    look(false);
    look(false);
    look(true);
    look(true);

    expect(events).toEqual(['store_no_replica', 'store_replica_online']);
  });

  it('warns again for a replica gone again only once NO_REPLICA_LOG_EVERY_MS has passed since the last warning', () => {
    const { look, events } = looksLogged();
    look(false);
    look(true);
    vi.advanceTimersByTime(NO_REPLICA_LOG_EVERY_MS - 1);
    look(false);
    look(true);
    vi.advanceTimersByTime(1);
    look(false);

    expect(events).toEqual(['store_no_replica', 'store_replica_online', 'store_no_replica']);
  });
});
