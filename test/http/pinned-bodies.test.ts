import { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createPinnedBodies } from '../../src/http/pinned-bodies.js';

const answer = () => new ServerResponse(new IncomingMessage(new net.Socket()));
const body = (bytes: number) => Buffer.alloc(bytes);
// Lets finished() call back: it does so on a later tick.
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('createPinnedBodies', () => {
  it('counts a body shared by several answers once, and cuts off every answer of the oldest past the bound', () => {
    const cut: ServerResponse[] = [];
    const pin = createPinnedBodies(100, (res) => cut.push(res));
    const [first, second, third] = [body(60), body(40), body(30)];
    const [a, b, c, d] = [answer(), answer(), answer(), answer()];

    pin(a, first);
    pin(b, first);
    pin(c, second);
    expect(cut).toEqual([]);

    pin(d, third);
    expect(cut).toEqual([a, b]);
  });

  it('never cuts off the answer of the newest body, even one larger than the bound', () => {
    const cut: ServerResponse[] = [];
    const pin = createPinnedBodies(100, (res) => cut.push(res));
    const [old, large] = [answer(), answer()];

    pin(old, body(10));
    pin(large, body(500));

    expect(cut).toEqual([old]);
  });

  it('lets a body go once its last answer is done, so it no longer counts', async () => {
    const cut: ServerResponse[] = [];
    const pin = createPinnedBodies(100, (res) => cut.push(res));
    const [done, reading, next, after] = [answer(), answer(), answer(), answer()];
    const first = body(60);

    // Still held by its other answer.
    pin(done, first);
    pin(reading, first);
    done.destroy();
    await settle();
    pin(next, body(60));
    expect(cut).toEqual([reading]);

    // Held by none.
    next.destroy();
    await settle();
    pin(after, body(40));
    pin(answer(), body(60));
    expect(cut).toEqual([reading]);
  });
});
