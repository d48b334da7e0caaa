import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createOneShotSenders,
  ONE_SHOT_AFTER,
  PROBE_EVERY,
  type OneShotSenders,
  type SenderSocket,
} from '../../src/http/one-shot-senders.js';
import { readFixture } from '../helpers/fixtures.js';
import { openRaw, type RawConnection } from '../helpers/raw-connection.js';
import { startReceiver, type TestReceiver } from '../helpers/start-receiver.js';

// A new connection's socket from `remoteAddress`, and its first request: whether its answer closes.
const fresh = (senders: OneShotSenders, remoteAddress?: string) => {
  const socket: SenderSocket = { remoteAddress };
  senders.arrive(socket);
  return senders.closes(socket);
};

describe('createOneShotSenders: which answers close their connection', () => {
  it('closes fresh connections of an address once ONE_SHOT_AFTER came in a row, but every PROBE_EVERY-th', () => {
    const senders = createOneShotSenders();
    const decisions = Array.from({ length: 3 * PROBE_EVERY }, () => fresh(senders, '10.0.0.1'));
    expect(decisions.slice(0, ONE_SHOT_AFTER)).toEqual(Array(ONE_SHOT_AFTER).fill(false));
    const kept = decisions.flatMap((close, i) => (close ? [] : [i + 1]));
    expect(kept).toEqual([
      ...Array.from({ length: ONE_SHOT_AFTER }, (_, i) => i + 1),
      PROBE_EVERY,
      2 * PROBE_EVERY,
      3 * PROBE_EVERY,
    ]);
  });

  it('never closes a reused connection, and a reuse starts the address over', () => {
    const senders = createOneShotSenders();
    for (let i = 0; i < ONE_SHOT_AFTER + 5; i++) fresh(senders, '10.0.0.2');
    const socket: SenderSocket = { remoteAddress: '10.0.0.2' };
    senders.arrive(socket);
    expect(senders.closes(socket)).toBe(true);
    // Its second request: not to be closed, and neither is the first any more (pipelined).
    senders.arrive(socket);
    expect(senders.closes(socket)).toBe(false);
    // After the reuse, ONE_SHOT_AFTER fresh connections again before any is closed.
    const next = Array.from({ length: ONE_SHOT_AFTER + 1 }, () => fresh(senders, '10.0.0.2'));
    expect(next).toEqual([...Array(ONE_SHOT_AFTER).fill(false), true]);
  });

  it('keeps a keep-alive sender open on an address shared with one-shot senders', () => {
    const senders = createOneShotSenders();
    const keptAlive: SenderSocket = { remoteAddress: '10.0.0.3' };
    senders.arrive(keptAlive);
    const closedFresh: boolean[] = [];
    // A 0.34 sender's fresh connections, and between every few a 0.40 sender's alert on its connection.
    for (let i = 0; i < 200; i++) {
      closedFresh.push(fresh(senders, '10.0.0.3'));
      if (i % ONE_SHOT_AFTER === 0) {
        senders.arrive(keptAlive);
        expect(senders.closes(keptAlive)).toBe(false);
      }
    }
    expect(closedFresh.filter(Boolean)).toEqual([]);
  });

  it('tells addresses apart, and an address it cannot read is never closed', () => {
    const senders = createOneShotSenders();
    for (let i = 0; i < ONE_SHOT_AFTER; i++) fresh(senders, '10.0.0.4');
    expect(fresh(senders, '10.0.0.5')).toBe(false);
    expect(fresh(senders, '10.0.0.4')).toBe(true);
    for (let i = 0; i < 2 * ONE_SHOT_AFTER; i++) expect(fresh(senders)).toBe(false);
  });

  it('follows at most maxAddresses: a flood of new addresses forgets newcomers, then everything', () => {
    const senders = createOneShotSenders(16);
    for (let i = 0; i <= ONE_SHOT_AFTER; i++) fresh(senders, '10.0.1.1');
    // 10.0.1.1 is one-shot; 10,000 other addresses each open one connection.
    for (let i = 0; i < 10_000; i++) fresh(senders, `fd00::${i.toString(16)}`);
    // The one-shot address was kept through the flood of newcomers.
    expect(fresh(senders, '10.0.1.1')).toBe(true);
    // Every followed address one-shot, and one more: all are forgotten, none is wrongly closed.
    const full = createOneShotSenders(2);
    for (const address of ['a', 'b']) for (let i = 0; i <= ONE_SHOT_AFTER; i++) fresh(full, address);
    expect(fresh(full, 'c')).toBe(false);
    expect(fresh(full, 'a')).toBe(false);
  });

  it('costs a bounded number of map writes per new address however many addresses are one-shot', () => {
    const senders = createOneShotSenders(256);
    // 255 one-shot addresses: the table is full with each connection from a new address.
    for (let a = 0; a < 255; a++) for (let i = 0; i <= ONE_SHOT_AFTER; i++) fresh(senders, `10.1.0.${a}`);
    const sets = vi.spyOn(Map.prototype, 'set');
    try {
      for (let i = 0; i < 1_000; i++) fresh(senders, `fd00::${i.toString(16)}`);
      // Forgetting the newcomers copied the 255 one-shot streaks each time (255,000 writes).
      expect(sets.mock.calls.length).toBeLessThan(10 * 1_000);
    } finally {
      sets.mockRestore();
    }
    // Each one-shot address is still one (its next fresh connection closes), none of the newcomers.
    expect(Array.from({ length: 255 }, (_, a) => fresh(senders, `10.1.0.${a}`))).toEqual(
      Array(255).fill(true),
    );
    expect(fresh(senders, 'fd00::3e7')).toBe(false);
  });
});

// The request Falco 0.34.1's libcurl writes (fast-ingest.test.ts), on a connection of its own.
const falcoRequest = (port: number, alert: Buffer) =>
  `POST /alerts HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: falcosecurity/falco\r\nAccept: */*\r\n` +
  `Content-Type: application/json\r\nContent-Length: ${alert.length}\r\n\r\n${alert.toString('latin1')}`;
// The same alert with a chunked body, which Express's ingest route serves (not the fast path).
const chunkedRequest = (port: number, alert: Buffer) =>
  `POST /alerts HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
  `Transfer-Encoding: chunked\r\n\r\n${alert.length.toString(16)}\r\n${alert.toString('latin1')}\r\n0\r\n\r\n`;
const answers = (connection: RawConnection) =>
  connection
    .received()
    .split(/(?=^HTTP\/1\.1 )/m)
    .filter(Boolean);
const closesConnection = (answer: string) => /^Connection: close\r$/im.test(answer);

describe('a sender with a connection per alert, on a real server', () => {
  let receiver: TestReceiver;
  let port: number;
  const alert = readFixture('own/valid/v46-real-0341-pk-iso8601-no-output-no-tags.json');

  beforeAll(async () => {
    // Twenty chunked requests pipelined from one address each reserve BODY_LIMIT_BYTES until
    // answered (35 MB), past the address's default share of the ingest budget (16 MiB).
    receiver = await startReceiver({
      env: { INGEST_MAX_INFLIGHT_BYTES_PER_ADDRESS: String(64 * 1024 * 1024) },
    });
    port = receiver.port;
  });
  afterAll(() => receiver.close());
  const alertLines = () => receiver.logLines.filter((line) => line.event === 'falco_alert').length;

  // One alert on a new connection from `from`, as Falco 0.34 sends it: the sender closes once
  // answered, unless the receiver closed first. Which one closed, and the answer.
  async function sendOneShot(
    from: string,
    request = falcoRequest,
  ): Promise<{ answer: string; closedByReceiver: boolean }> {
    const connection = await openRaw(port, from);
    connection.write(request(port, alert));
    await expect.poll(() => answers(connection).length).toBe(1);
    const [answer = ''] = answers(connection);
    // A receiver that closes does so right after its answer.
    const closedByReceiver = await Promise.race([
      connection.closed.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 100)),
    ]);
    connection.socket.destroy();
    return { answer, closedByReceiver };
  }

  it('closes the connection itself after the answer once an address sent ONE_SHOT_AFTER alerts that way, and loses none', async () => {
    const lines = alertLines();
    const sent = [];
    for (let i = 0; i < ONE_SHOT_AFTER + 4; i++) sent.push(await sendOneShot('127.0.0.31'));
    expect(sent.map(({ answer }) => answer.split('\r\n')[0])).toEqual(
      Array(ONE_SHOT_AFTER + 4).fill('HTTP/1.1 202 Accepted'),
    );
    expect(sent.map(({ answer }) => closesConnection(answer))).toEqual([
      ...Array(ONE_SHOT_AFTER).fill(false),
      ...Array(4).fill(true),
    ]);
    expect(sent.map(({ closedByReceiver }) => closedByReceiver)).toEqual([
      ...Array(ONE_SHOT_AFTER).fill(false),
      ...Array(4).fill(true),
    ]);
    // Every alert was logged (and so stored and counted) before its answer.
    await expect.poll(() => alertLines() - lines).toBe(ONE_SHOT_AFTER + 4);
  });

  it('closes after the answer on the Express route too (a chunked body), from the same count', async () => {
    const sent = [];
    for (let i = 0; i < ONE_SHOT_AFTER / 2; i++) sent.push(await sendOneShot('127.0.0.35'));
    for (let i = 0; i < ONE_SHOT_AFTER / 2 + 2; i++)
      sent.push(await sendOneShot('127.0.0.35', chunkedRequest));
    expect(sent.map(({ answer }) => answer.split('\r\n')[0])).toEqual(
      Array(ONE_SHOT_AFTER + 2).fill('HTTP/1.1 202 Accepted'),
    );
    expect(sent.map(({ answer, closedByReceiver }) => [closesConnection(answer), closedByReceiver])).toEqual([
      ...Array(ONE_SHOT_AFTER).fill([false, false]),
      [true, true],
      [true, true],
    ]);
  });

  it('keeps the connection of a client that pipelines, on an address that sends one alert per connection', async () => {
    for (let i = 0; i < ONE_SHOT_AFTER + 4; i++) await sendOneShot('127.0.0.36');
    for (const request of [falcoRequest, chunkedRequest]) {
      // Twenty alerts in one write, on a new connection from that address: every one is answered.
      const connection = await openRaw(port, '127.0.0.36');
      connection.write(Array.from({ length: 20 }, () => request(port, alert)).join(''));
      await expect.poll(() => answers(connection).length).toBe(20);
      expect(answers(connection).map((answer) => answer.split('\r\n')[0])).toEqual(
        Array(20).fill('HTTP/1.1 202 Accepted'),
      );
      expect(answers(connection).filter(closesConnection)).toEqual([]);
      expect(connection.isClosed()).toBe(false);
      connection.socket.destroy();
    }
  });

  it('keeps a keep-alive sender on another address open, alert after alert', async () => {
    for (let i = 0; i < ONE_SHOT_AFTER + 4; i++) await sendOneShot('127.0.0.32');
    const connection = await openRaw(port, '127.0.0.33');
    for (let i = 1; i <= ONE_SHOT_AFTER + 4; i++) {
      connection.write(falcoRequest(port, alert));
      await expect.poll(() => answers(connection).length).toBe(i);
    }
    expect(answers(connection).filter(closesConnection)).toEqual([]);
    expect(connection.isClosed()).toBe(false);
    connection.socket.destroy();
  });

  it('keeps connections open again once a one-shot address reuses one (Falco upgraded to 0.36+)', async () => {
    for (let i = 0; i < ONE_SHOT_AFTER + 4; i++) await sendOneShot('127.0.0.34');
    // The upgraded sender reconnects whenever it was told to close; within PROBE_EVERY connections
    // one is left open, and it sends its next alerts on it.
    let connections = 0;
    let connection: RawConnection | undefined;
    while (connection === undefined && connections <= PROBE_EVERY) {
      connections++;
      const candidate = await openRaw(port, '127.0.0.34');
      candidate.write(falcoRequest(port, alert));
      await expect.poll(() => answers(candidate).length).toBe(1);
      if (closesConnection(answers(candidate)[0]!)) await candidate.closed;
      else connection = candidate;
    }
    expect(connection).toBeDefined();
    for (let i = 2; i <= 5; i++) {
      connection!.write(falcoRequest(port, alert));
      await expect.poll(() => answers(connection!).length).toBe(i);
    }
    expect(answers(connection!).filter(closesConnection)).toEqual([]);
    // The reuse started the address over: its next fresh connection is kept open as well.
    const next = await sendOneShot('127.0.0.34');
    expect([closesConnection(next.answer), next.closedByReceiver]).toEqual([false, false]);
    connection!.socket.destroy();
  });
});
