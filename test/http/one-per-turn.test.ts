import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createTurnTaker } from '../../src/http/one-per-turn.js';

describe('createTurnTaker', () => {
  it('gives turns in arrival order', async () => {
    const turns = createTurnTaker();
    const order: number[] = [];
    await Promise.all([1, 2, 3].map((n) => turns.next().then(() => order.push(n))));
    expect(order).toEqual([1, 2, 3]);
  });

  it('lets socket I/O that arrives during one job be handled before the next job', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    const peer = await accepted;
    const events: string[] = [];
    peer.on('data', () => events.push('data'));

    const turns = createTurnTaker();
    await Promise.all(
      [1, 2, 3].map((n) =>
        turns.next().then(() => {
          events.push(`job ${n}`);
          // As a /healthz request would, this arrives while the alerts wait for their turn.
          if (n === 1) client.write('x');
        }),
      ),
    );
    await expect.poll(() => events.includes('data')).toBe(true);
    expect(events.indexOf('data')).toBeLessThan(events.indexOf('job 3'));
    client.destroy();
    peer.destroy();
    server.close();
  });

  it('counts who is waiting', async () => {
    const turns = createTurnTaker();
    const pending = [turns.next(), turns.next()];
    expect(turns.waiting()).toBe(2);
    await Promise.all(pending);
    expect(turns.waiting()).toBe(0);
  });
});
