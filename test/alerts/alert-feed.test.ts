import { describe, expect, it } from 'vitest';
import { createAlertFeed } from '../../src/alerts/alert-feed.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';

describe('createAlertFeed', () => {
  it('delivers to every listener even when one throws, and reports the error', () => {
    const errors: unknown[] = [];
    const feed = createAlertFeed((error) => errors.push(error));
    const seen: string[] = [];
    feed.subscribe(() => {
      throw new Error('boom');
    });
    feed.subscribe((entry) => seen.push(entry.id));
    const entry = makeStoredAlert();
    feed.publish(entry);
    expect(seen).toEqual([entry.id]);
    expect(errors).toHaveLength(1);
  });

  it('stops delivering after unsubscribe', () => {
    const feed = createAlertFeed(() => {});
    const seen: string[] = [];
    const stop = feed.subscribe((entry) => seen.push(entry.id));
    stop();
    feed.publish(makeStoredAlert());
    expect(seen).toEqual([]);
    expect(feed.listenerCount()).toBe(0);
  });
});
