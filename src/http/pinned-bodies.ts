import type { ServerResponse } from 'node:http';
import { finished } from 'node:stream';

/**
 * Counts `body` as held for `res` until `res` is done. Once the bodies held for answers not yet
 * done pass the bound, those of the oldest are let go: each of its answers is handed to `cutOff`
 * (which must end it), oldest first, until they fit or only `body` is left.
 */
export type PinBody = (res: ServerResponse, body: Buffer) => void;

/**
 * Bounds the bytes of shared bodies (the renders of `/metrics`, each shared by the scrapes of its
 * second) that answers not yet done hold, each body counted once however many answers share it.
 * A client that reads slowly is never stalled, and each of its answers held its body until read
 * to its end: slow scrapes in distinct seconds held a render each, without bound (found by
 * review). The newest body is never let go, so a new answer is always served; an answer is cut
 * off only once its body and those newer than it pass `maxBytes`.
 */
export function createPinnedBodies(maxBytes: number, cutOff: (res: ServerResponse) => void): PinBody {
  // Oldest first: a body is added when its first answer starts, and a Map keeps that order.
  const pinned = new Map<Buffer, Set<ServerResponse>>();
  let bytes = 0;
  const add = (body: Buffer) => {
    const holders = new Set<ServerResponse>();
    pinned.set(body, holders);
    bytes += body.length;
    return holders;
  };
  const unpin = (body: Buffer) => {
    pinned.delete(body);
    bytes -= body.length;
  };
  return (res, body) => {
    const holders = pinned.get(body) ?? add(body);
    holders.add(res);
    // Once the body's last answer is done; not again for a body already let go.
    finished(res, () => {
      if (holders.delete(res) && holders.size === 0 && pinned.get(body) === holders) unpin(body);
    });
    for (const [oldest, cut] of pinned) {
      if (bytes <= maxBytes || oldest === body) break;
      unpin(oldest);
      for (const answer of cut) cutOff(answer);
    }
  };
}
