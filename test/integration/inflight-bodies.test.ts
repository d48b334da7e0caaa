import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { SHED_LOG_INTERVAL_MS } from '../../src/http/inflight-bodies.js';
import { openRaw, type RawConnection } from '../helpers/raw-connection.js';
import { connectionLimits, startReceiver, type TestReceiver } from '../helpers/start-receiver.js';

const MiB = 1024 * 1024;
const ALERT = JSON.stringify({ rule: 'r', priority: 'Notice', time: '2026-11-30T12:00:00Z', output: 'x' });

const head = (path: string, length: number | 'chunked') =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
  `${length === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`}\r\n\r\n`;
// A whole request: the body declared by length, or in one chunk.
const request = (path: string, chunked: boolean, body: string) =>
  chunked
    ? `${head(path, 'chunked')}${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`
    : head(path, Buffer.byteLength(body)) + body;
const status = (connection: RawConnection) => /^HTTP\/1\.1 (\d{3})/.exec(connection.received())?.[1];
const shedCount = async (receiver: TestReceiver, reason: string) =>
  Number(
    new RegExp(`falco_ingest_shed_total\\{reason="${reason}"\\} (\\d+)`).exec(
      await receiver.metricsText(),
    )?.[1],
  );

let receiver: TestReceiver | undefined;
const connections: RawConnection[] = [];
afterEach(async () => {
  for (const connection of connections.splice(0)) connection.socket.destroy();
  await receiver?.close();
  receiver = undefined;
});

// Regression (issue 18.5): 400 sockets declaring 1 MiB and holding back the last byte took RSS
// from 167 to 491 MiB, held until the request timeout.
describe('ingest bodies still arriving', () => {
  it.each([
    ['the fast path, declared lengths', false],
    ['Express, chunked bodies counted at the body cap', true],
  ])(
    'sheds requests past INGEST_MAX_INFLIGHT_BYTES with 503 before reading them (%s)',
    async (_name, chunked) => {
      receiver = await startReceiver({
        keepLogLines: false,
        env: { INGEST_MAX_INFLIGHT_BYTES: String(4 * MiB) },
      });
      const port = receiver.port;
      const target = '/alerts';
      const held: RawConnection[] = [];
      for (let index = 0; index < 12; index++) {
        const connection = await openRaw(port, `127.0.0.${10 + index}`);
        connection.write(head(target, chunked ? 'chunked' : MiB));
        held.push(connection);
      }
      connections.push(...held);

      await expect.poll(() => held.filter((c) => status(c) === '503').length).toBe(8);
      const shed = held.filter((c) => status(c) === '503');
      const admitted = held.filter((c) => status(c) === undefined);
      expect(admitted).toHaveLength(4);
      expect(shed[0]!.received()).toMatch(/Retry-After: 1\r\n/i);
      expect(shed[0]!.received()).toMatch(/Connection: close\r\n/i);
      expect(shed[0]!.received()).toMatch(/Content-Type: application\/problem\+json/i);
      expect(shed[0]!.received()).toContain('INGEST_MAX_INFLIGHT_BYTES');
      expect(await shedCount(receiver, 'inflight_bytes')).toBe(8);

      // A held body finishing returns its bytes: the next sender is admitted and its alert stored.
      const body = ALERT.padEnd(MiB, ' ');
      admitted[0]!.write(chunked ? request(target, true, body).slice(head(target, 'chunked').length) : body);
      await expect.poll(() => status(admitted[0]!)).toBe('202');
      const next = await openRaw(port, '127.0.0.30');
      connections.push(next);
      next.write(request(target, chunked, ALERT));
      await expect.poll(() => status(next)).toBe('202');
    },
  );

  it('closes a connection past SERVER_MAX_CONNECTIONS_PER_ADDRESS with a 503 before reading, counted, while another address connects', async () => {
    receiver = await startReceiver({ keepLogLines: false, limits: connectionLimits(10_000, 5) });
    const port = receiver.port;
    // Idle connections that never send a byte: each would otherwise hold a socket until the header timeout.
    const idle: RawConnection[] = [];
    for (let index = 0; index < 5; index++) idle.push(await openRaw(port));
    const refused = await openRaw(port);
    const other = await openRaw(port, '127.0.0.2');
    connections.push(...idle, refused, other);
    other.write(request('/alerts', false, ALERT));

    await refused.closed;
    expect(refused.received()).toMatch(/^HTTP\/1\.1 503/);
    expect(refused.received()).toMatch(/Retry-After: 1\r\n/);
    expect(refused.received()).toContain('SERVER_MAX_CONNECTIONS_PER_ADDRESS');
    await expect.poll(() => status(other)).toBe('202');
    expect(idle.some((connection) => connection.isClosed())).toBe(false);
    expect(await receiver.metricsText()).toMatch(
      /^falco_http_connections_refused_total\{reason="max_connections_per_address"\} 1$/m,
    );

    // A closed connection frees its slot.
    idle[0]!.socket.destroy();
    await idle[0]!.closed;
    const next = await openRaw(port);
    connections.push(next);
    next.write(request('/alerts', false, ALERT));
    await expect.poll(() => status(next)).toBe('202');
  });

  // Regression (review): 250 idle connections from each of 84 addresses took every file descriptor,
  // and 34 of 65 alerts from another sensor were lost.
  it('at SERVER_MAX_CONNECTIONS closes the silent connections and refuses the new one, so the next sensor gets in', async () => {
    receiver = await startReceiver({ keepLogLines: false, limits: connectionLimits(12, 4) });
    const port = receiver.port;
    // Four addresses hold the twelve slots with connections that send nothing, and a sensor its
    // kept-alive connection between two alerts.
    const idle: RawConnection[] = [];
    for (let index = 0; index < 11; index++) idle.push(await openRaw(port, `127.0.1.${1 + (index % 4)}`));
    const sensor = await openRaw(port, '127.0.2.1');
    connections.push(...idle, sensor);
    sensor.write(request('/alerts', false, ALERT));
    await expect.poll(() => status(sensor)).toBe('202');

    const refused = await openRaw(port, '127.0.2.2');
    connections.push(refused);
    await refused.closed;
    expect(refused.received()).toMatch(/^HTTP\/1\.1 503/);
    expect(refused.received()).toContain('SERVER_MAX_CONNECTIONS');
    await Promise.all(idle.map((connection) => connection.closed));
    expect(await receiver.metricsText()).toMatch(
      /^falco_http_connections_refused_total\{reason="max_connections"\} 1$/m,
    );
    // The silent ones made room: the sensor's connection is left for its next alert (closed, it
    // could have been sending it).
    expect(sensor.isClosed()).toBe(false);
    sensor.write(request('/alerts', false, ALERT));
    await expect.poll(() => sensor.received().match(/^HTTP\/1\.1 202/gm)?.length).toBe(2);

    const next = await openRaw(port, '127.0.2.2');
    connections.push(next);
    next.write(request('/alerts', false, ALERT));
    await expect.poll(() => status(next)).toBe('202');
  });

  // Regression (review): 37 requests declaring 1.75 MB and sending nothing, from two addresses,
  // held the whole budget for the request timeout, and another sensor's alerts were shed.
  it("holds one address to its share of INGEST_MAX_INFLIGHT_BYTES, so another address's alert gets in", async () => {
    receiver = await startReceiver({ env: { INGEST_MAX_INFLIGHT_BYTES: String(8 * MiB) } });
    const port = receiver.port;
    const held: RawConnection[] = [];
    for (let index = 0; index < 8; index++) {
      const connection = await openRaw(port);
      connection.write(head('/alerts', MiB));
      held.push(connection);
    }
    const other = await openRaw(port, '127.0.0.2');
    connections.push(...held, other);

    // A quarter of 8 MiB: two bodies of 1 MiB; the other six are shed, and the budget has room.
    await expect.poll(() => held.filter((c) => status(c) === '503').length).toBe(6);
    expect(held.filter((c) => c.received().includes('INGEST_MAX_INFLIGHT_BYTES_PER_ADDRESS'))).toHaveLength(
      6,
    );
    expect(await shedCount(receiver, 'inflight_bytes_per_address')).toBe(6);
    // Said in the log once (the next line of that reason comes 10 s later at the earliest, with the
    // count since), as Falco will not send these alerts again.
    expect(receiver.logLines.filter((line) => line.event === 'ingest_shed')).toEqual([
      expect.objectContaining({
        level: 'warn',
        reason: 'inflight_bytes_per_address',
        shed: 1,
        caller: '127.0.0.1',
      }),
    ]);
    other.write(request('/alerts', false, ALERT));
    await expect.poll(() => status(other)).toBe('202');
  });

  it('sheds a client address past INGEST_MAX_INFLIGHT_PER_ADDRESS while another address gets in', async () => {
    receiver = await startReceiver({ keepLogLines: false, env: { INGEST_MAX_INFLIGHT_PER_ADDRESS: '3' } });
    const port = receiver.port;
    const same: RawConnection[] = [];
    for (let index = 0; index < 4; index++) {
      const connection = await openRaw(port);
      connection.write(head('/alerts', 100) + ALERT.slice(0, 10));
      same.push(connection);
    }
    const other = await openRaw(port, '127.0.0.2');
    connections.push(...same, other);
    other.write(request('/alerts', false, ALERT));

    await expect.poll(() => status(other)).toBe('202');
    await expect.poll(() => same.map(status)).toEqual([undefined, undefined, undefined, '503']);
    expect(same[3]!.received()).toContain('INGEST_MAX_INFLIGHT_PER_ADDRESS');
    expect(await shedCount(receiver, 'inflight_per_address')).toBe(1);
  });

  // Regression: a line was written only when a shed came 10 s or more after the last line, with the
  // sheds since; those after the last line were never written (30 shed, a line of 1), at exit or not.
  it('logs the first shed at once, and the rest with its period or at close: the lines add up to the metric', async () => {
    const served = await startReceiver({ env: { INGEST_MAX_INFLIGHT_PER_ADDRESS: '1' } });
    receiver = served;
    const port = served.port;
    const holder = await openRaw(port);
    connections.push(holder);
    holder.write(head('/alerts', 100) + ALERT.slice(0, 10));
    const started = performance.now();
    for (let index = 0; index < 30; index++) {
      const connection = await openRaw(port);
      connections.push(connection);
      connection.write(head('/alerts', 100) + ALERT.slice(0, 10));
      await expect.poll(() => status(connection)).toBe('503');
    }
    const lines = () => served.logLines.filter((line) => line.event === 'ingest_shed');
    const periods = Math.ceil((performance.now() - started) / SHED_LOG_INTERVAL_MS);
    expect(await shedCount(served, 'inflight_per_address')).toBe(30);
    expect(lines()[0]).toMatchObject({
      level: 'warn',
      reason: 'inflight_per_address',
      shed: 1,
      caller: '127.0.0.1',
    });
    expect(lines().length).toBeLessThanOrEqual(1 + periods);

    // The listener's close writes what the period held back.
    for (const connection of connections.splice(0)) connection.socket.destroy();
    receiver = undefined;
    await served.close();
    expect(lines().length).toBeLessThanOrEqual(2 + periods);
    expect(lines().reduce((sum, line) => sum + Number(line.shed), 0)).toBe(30);
  });
});
