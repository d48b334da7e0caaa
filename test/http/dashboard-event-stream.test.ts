import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';

type StreamEvent = { type: string; data: string; id: string };
interface EventStream {
  stop(): void;
  lastEventId(): string;
}
// The page's own module: fetch and streams only, so it runs here as it does in the browser. A path
// in a variable: the Node tsconfig does not type-check the page scripts (tsconfig.page.json does).
const STREAM_MODULE = '../../src/http/dashboard/assets/js/event-stream.js';
const { openEventStream } = (await import(STREAM_MODULE)) as {
  openEventStream: (
    url: string,
    handlers: {
      silenceMs: number;
      onOpen: () => void;
      onEvent: (event: StreamEvent) => void;
      onDrop: () => void;
      onRefused: (response: Response) => void;
    },
  ) => EventStream;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes `pieces` to `res` one per turn of the loop: the client reads each before the next is written. */
function writeApart(res: ServerResponse, pieces: readonly string[]) {
  const rest = [...pieces];
  const writeNext = () => {
    const piece = rest.shift();
    if (piece === undefined || res.destroyed) return;
    res.write(piece);
    setImmediate(writeNext);
  };
  writeNext();
}

/** An SSE server that writes `body` to each stream and counts the streams still open. */
async function startServer(body: string, keepOpen: (res: ServerResponse) => void = () => {}) {
  let open = 0;
  let requests = 0;
  const server = createServer((req, res) => {
    requests += 1;
    open += 1;
    res.on('close', () => (open -= 1));
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write(body);
    keepOpen(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/stream`,
    open: () => open,
    requests: () => requests,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/**
 * What the page reads from one stream whose body comes as exactly these chunks: fetch is stubbed,
 * as a server's writes may reach the page joined (TCP), and the boundaries are what is tested here.
 */
async function readChunks(chunks: readonly Uint8Array[]): Promise<{ events: StreamEvent[]; lastId: string }> {
  vi.stubGlobal('fetch', () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk);
        controller.close();
      },
    });
    return Promise.resolve(new Response(body, { headers: { 'Content-Type': 'text/event-stream' } }));
  });
  try {
    const events: StreamEvent[] = [];
    // The body read to its end drops the stream: stopped then, it does not connect again.
    const stream: EventStream = await new Promise((resolve) => {
      const opened: EventStream = openEventStream('http://127.0.0.1:9/stream', {
        silenceMs: 60_000,
        onOpen: () => {},
        onEvent: (event) => events.push(event),
        onDrop: () => {
          opened.stop();
          resolve(opened);
        },
        onRefused: () => {},
      });
    });
    return { events, lastId: stream.lastEventId() };
  } finally {
    vi.unstubAllGlobals();
  }
}

describe('the dashboard event stream (event-stream.js)', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  function follow(url: string, onEvent: (event: StreamEvent, stream: EventStream) => void) {
    const stream: EventStream = openEventStream(url, {
      silenceMs: 60_000,
      onOpen: () => {},
      onEvent: (event) => onEvent(event, stream),
      onDrop: () => {},
      onRefused: () => {},
    });
    cleanups.push(() => stream.stop());
    return stream;
  }

  // Regression: a handler's throw reconnected without aborting the request, so every throw left a
  // stream open on the server (5 in a review's run), and the per-address limit refused the next.
  it('closes the request a throwing handler ended before it connects again', async () => {
    const server = await startServer('retry: 20\ndata: boom\n\n', (res) => {
      const ping = setInterval(() => res.write(': ping\n\n'), 10);
      res.on('close', () => clearInterval(ping));
    });
    cleanups.push(server.close);
    follow(server.url, () => {
      throw new Error('handler failed');
    });

    await expect.poll(server.requests, { timeout: 5000 }).toBeGreaterThanOrEqual(5);
    await sleep(50);
    expect(server.open()).toBeLessThanOrEqual(1);
  });

  // Regression: a handler that stopped the stream (a truncated replay) still got the chunk's later
  // events, which also moved lastEventId() past them.
  it('dispatches no event, and takes no id as seen, once stopped', async () => {
    const server = await startServer(
      'id: 1\nevent: truncated\ndata: {}\n\nid: 2\nevent: alert\ndata: late\n\n',
      () => {},
    );
    cleanups.push(server.close);
    const seen: string[] = [];
    const stream = follow(server.url, (event, own) => {
      seen.push(event.type);
      if (event.type === 'truncated') own.stop();
    });

    await expect.poll(() => seen.length, { timeout: 5000 }).toBeGreaterThan(0);
    await sleep(100);
    expect(seen).toEqual(['truncated']);
    expect(stream.lastEventId()).toBe('1');
  });

  // Regression: each chunk was joined to the unended line held from the chunks before it and the
  // whole searched for line breaks again, so one long line cost the square of its chunks: a 1.5 MB
  // alert (BODY_LIMIT_BYTES takes 1.75 MiB) read 1 KB at a time, as a slow link delivers it, held
  // the page's main thread for 4.6 s of CPU.
  it('reads a 1.5 MB event that comes 1 KB at a time in time linear in its size', async () => {
    const data = 'x'.repeat(1_500_000);
    const text = `id: 7\ndata: ${data}\n\n`;
    const pieces = Array.from({ length: Math.ceil(text.length / 1024) }, (_, i) =>
      text.slice(i * 1024, (i + 1) * 1024),
    );
    const server = await startServer('', (res) => writeApart(res, pieces));
    cleanups.push(server.close);
    const before = process.cpuUsage();
    let cpuMs = 0;
    const lengths: number[] = [];
    const stream = follow(server.url, (event) => {
      const spent = process.cpuUsage(before);
      cpuMs = (spent.user + spent.system) / 1000;
      lengths.push(event.data.length);
    });

    await expect.poll(() => lengths, { timeout: 20_000 }).toEqual([data.length]);
    expect(stream.lastEventId()).toBe('7');
    // The server's writes included; about 0.2 s once linear.
    expect(cpuMs).toBeLessThan(1500);
  }, 30_000);

  // Guards the reading of a line break split across two chunks: CR, then LF in the next, is one.
  it('takes CR, LF and CRLF as line breaks, a CRLF split across two chunks as one', async () => {
    const pieces = ['id: 1\r', '\nevent: alert\r', '\ndata: a\r', '\r', 'id: 2\rdata: b\n', '\r', '\n'];
    const server = await startServer('', (res) => writeApart(res, pieces));
    cleanups.push(server.close);
    const seen: StreamEvent[] = [];
    follow(server.url, (event) => seen.push(event));

    await expect.poll(() => seen.length, { timeout: 5000 }).toBe(2);
    await sleep(50);
    expect(seen).toEqual([
      { type: 'alert', data: 'a', id: '1' },
      { type: '', data: 'b', id: '2' },
    ]);
  });
  // Guards the reading of the WHATWG rules wherever a chunk ends: in a CRLF, in a field name, in a
  // UTF-8 character of 2, 3 or 4 bytes, in the BOM, or just before the CR that ends the stream.
  it('reads an event stream split at any byte as it reads it whole', async () => {
    const text = [
      '\uFEFF: a comment with ü\r\n',
      'retry: 10\n',
      'id: 1\r',
      'event: alert\r\n',
      'data: héllo 世界 😀\n',
      'data\n',
      'data:  two spaces\r',
      '\r\n',
      'id: bad\0id\n',
      'data: after a NUL\n',
      '\n',
      'event: no data\nid: 2\n\n',
      'data:\n\n',
      'data: \uFEFFkept\r\r',
      'id: 3\rdata: last 🚀\r\r',
    ].join('');
    const bytes = new TextEncoder().encode(text);
    const whole = await readChunks([bytes]);

    // The leading BOM dropped, not a later one; data lines joined with LF; the id with a NUL
    // ignored; the event without data not dispatched but its id kept; the final CR ends the last.
    expect(whole).toEqual({
      events: [
        { type: 'alert', data: 'héllo 世界 😀\n\n two spaces', id: '1' },
        { type: '', data: 'after a NUL', id: '1' },
        { type: '', data: '', id: '2' },
        { type: '', data: '\uFEFFkept', id: '2' },
        { type: '', data: 'last 🚀', id: '3' },
      ],
      lastId: '3',
    });
    for (let at = 0; at <= bytes.length; at += 1) {
      const split = await readChunks([bytes.subarray(0, at), bytes.subarray(at)]);
      expect({ at, ...split }).toEqual({ at, ...whole });
    }
    const byByte = await readChunks(Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)));
    expect(byByte).toEqual(whole);
  });
});
