import net from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { readFixture } from '../helpers/fixtures.js';
import { serveForTest } from '../helpers/serve-for-test.js';
import { makeStoredAlert } from '../helpers/stored-alert.js';
import { buildTestApp } from '../helpers/test-app.js';

const listen = (built: ReturnType<typeof buildTestApp>) => serveForTest(built.app);

/** Reads SSE frames from a streaming response until `count` events of `kinds` arrived. */
async function readEvents(
  res: Response,
  count: number,
  kinds: readonly string[] = ['alert'],
): Promise<{ id: string; data: string; event: string }[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const events: { id: string; data: string; event: string }[] = [];
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    const frames = text.split('\n\n');
    text = frames.pop() ?? '';
    for (const frame of frames) {
      const fields = Object.fromEntries(
        frame
          .split('\n')
          .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
      );
      const event = fields['event'] ?? '';
      if (kinds.includes(event)) events.push({ id: fields['id'] ?? '', data: fields['data'] ?? '', event });
    }
  }
  await reader.cancel();
  return events;
}

const post = (base: string, file: string) =>
  fetch(`${base}/alerts`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: readFixture(file),
  }).then((r) => ({ id: r.headers.get('x-alert-id') ?? '' }));

describe('GET /alerts/stream', () => {
  it('delivers an alert posted while a client listens, with exact ns digits', async () => {
    const built = buildTestApp();
    const base = await listen(built);
    const res = await fetch(`${base}/alerts/stream`);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = readEvents(res, 1);
    await expect.poll(() => built.feed.listenerCount()).toBe(1);
    const posted = await post(base, 'samples/valid/001-demo-034-terminal-shell-in-container.json');
    const [event] = await events;
    expect(event?.id).toBe(posted.id);
    expect(event?.data).toContain('"evt.time":1683185309510366389');
    expect(JSON.parse(event?.data ?? '{}')).toMatchObject({
      id: posted.id,
      alert: { rule: 'Terminal shell in container' },
    });
  });

  it('sends only alerts that match its filter', async () => {
    const built = buildTestApp();
    const base = await listen(built);
    const res = await fetch(`${base}/alerts/stream?min_priority=Error`);
    const events = readEvents(res, 1);
    await expect.poll(() => built.feed.listenerCount()).toBe(1);
    await post(base, 'samples/valid/001-demo-034-terminal-shell-in-container.json'); // Notice: filtered out
    const error = await post(base, 'samples/valid/002-demo-034-write-below-root.json'); // Error
    expect((await events).map((e) => e.id)).toEqual([error.id]);
  });

  it('with others=true also sends the alerts outside its filter, as event other, live and replayed', async () => {
    const built = buildTestApp();
    const base = await listen(built);
    const res = await fetch(`${base}/alerts/stream?min_priority=Error&others=true`);
    const live = readEvents(res, 2, ['alert', 'other']);
    await expect.poll(() => built.feed.listenerCount()).toBe(1);
    const notice = await post(base, 'samples/valid/001-demo-034-terminal-shell-in-container.json');
    const error = await post(base, 'samples/valid/002-demo-034-write-below-root.json');
    expect((await live).map(({ id, event }) => ({ id, event }))).toEqual([
      { id: notice.id, event: 'other' },
      { id: error.id, event: 'alert' },
    ]);

    const later = await post(base, 'samples/valid/093-latest-terminal-shell-in-container.json');
    const again = await fetch(`${base}/alerts/stream?min_priority=Error&others=true`, {
      headers: { 'Last-Event-ID': notice.id },
    });
    const replayed = await readEvents(again, 2, ['alert', 'other']);
    expect(replayed.map(({ id, event }) => ({ id, event }))).toEqual([
      { id: error.id, event: 'alert' },
      { id: later.id, event: 'other' },
    ]);
    expect(JSON.parse(replayed[1]!.data)).toMatchObject({ id: later.id, alert: { priority: 'Notice' } });
  });

  it('answers HEAD with the headers alone, holding no stream slot', async () => {
    const built = buildTestApp({ env: { STREAM_MAX_CLIENTS_PER_ADDRESS: '1' } });
    const base = await listen(built);
    for (let i = 0; i < 3; i++) {
      const head = await fetch(`${base}/alerts/stream`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toMatch(/^text\/event-stream/);
    }
    const res = await fetch(`${base}/alerts/stream`);
    expect(res.status).toBe(200);
    await res.body?.cancel();
  });

  it.each([
    ['others=yes', 'others'],
    ['rule[]=x', 'rule[]'],
    ['limit=10', 'limit'],
    ['rule=a&rule=b', 'rule'],
  ])('answers 400 naming the parameter for %s', async (query, pointer) => {
    const built = buildTestApp();
    const base = await listen(built);
    const res = await fetch(`${base}/alerts/stream?${query}`);
    expect(res.status).toBe(400);
    expect((await res.json()) as unknown).toMatchObject({ errors: [{ pointer }] });
  });

  it('replays alerts received after Last-Event-ID on reconnect', async () => {
    const built = buildTestApp();
    const base = await listen(built);
    const first = await post(base, 'samples/valid/001-demo-034-terminal-shell-in-container.json');
    const second = await post(base, 'samples/valid/002-demo-034-write-below-root.json');
    const third = await post(base, 'samples/valid/093-latest-terminal-shell-in-container.json');
    const res = await fetch(`${base}/alerts/stream`, { headers: { 'Last-Event-ID': first.id } });
    expect((await readEvents(res, 2)).map((e) => e.id)).toEqual([second.id, third.id]);
  });

  // What the Redis store does: its reader publishes each alert with its stream position, and runs
  // behind the replay's read (far behind after its link dropped). A real Redis in redis-replicas.test.ts.
  it('sends nothing live at or before where the replay read up to: no alert twice, none out of order', async () => {
    const built = buildTestApp();
    const base = await listen(built);
    const first = await post(base, 'samples/valid/001-demo-034-terminal-shell-in-container.json');
    const second = await post(base, 'samples/valid/002-demo-034-write-below-root.json');
    const after = built.store.after.bind(built.store);
    vi.spyOn(built.store, 'after').mockImplementation(async (...args) => ({
      ...(await after(...args))!,
      through: [2, 0],
    }));
    const res = await fetch(`${base}/alerts/stream`, { headers: { 'Last-Event-ID': first.id } });
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes(`id: ${second.id}`)) text += new TextDecoder().decode((await reader.read()).value);

    // The client's own last alert and the replayed one, late.
    built.feed.publish((await built.store.get(first.id))!, [1, 0]);
    built.feed.publish((await built.store.get(second.id))!, [2, 0]);
    // And one written after the read.
    const later = makeStoredAlert();
    built.feed.publish(later, [2, 1]);
    while (!text.includes(`id: ${later.id}`)) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();

    expect([...text.matchAll(/^id: (.+)$/gm)].map((match) => match[1])).toEqual([second.id, later.id]);
  });

  // Regression: a shared store's reader that fell behind the trim went on after the removed alerts,
  // and its clients' Last-Event-ID moved past them without a word (7,656 of 14,777 in one hole).
  it('tells a live client with event: truncated, in order, when the feed has a gap', async () => {
    const built = buildTestApp();
    const base = await listen(built);
    const res = await fetch(`${base}/alerts/stream?rule=Unrelated`);
    const events = readEvents(res, 2, ['alert', 'truncated']);
    await expect.poll(() => built.feed.listenerCount()).toBe(1);

    built.feed.publishGap({ through: [5, 0] });
    const after = makeStoredAlert({ rule: 'Unrelated' });
    built.feed.publish(after, [6, 0]);

    // Whatever its filters: the missing alerts may have been the client's.
    expect(await events).toEqual([
      {
        id: '',
        event: 'truncated',
        data: JSON.stringify({
          reason: 'alerts were removed from the shared store before this replica read them',
        }),
      },
      expect.objectContaining({ id: after.id, event: 'alert' }),
    ]);
  });

  it('tells a reconnecting client of a gap past where its replay read, and not of one it read past', async () => {
    const built = buildTestApp();
    const base = await listen(built);
    const first = await post(base, 'samples/valid/001-demo-034-terminal-shell-in-container.json');
    const second = await post(base, 'samples/valid/002-demo-034-write-below-root.json');
    const after = built.store.after.bind(built.store);
    let replayRead: () => void = () => undefined;
    const reading = new Promise<void>((resolve) => (replayRead = resolve));
    vi.spyOn(built.store, 'after').mockImplementation(async (...args) => {
      // Gaps the reader found while the replay was read wait for it, as live alerts do.
      built.feed.publishGap({ through: [2, 0] });
      built.feed.publishGap({ through: [3, 0] });
      await reading;
      return { ...(await after(...args))!, through: [2, 0] };
    });
    const res = await fetch(`${base}/alerts/stream`, { headers: { 'Last-Event-ID': first.id } });
    const events = readEvents(res, 4, ['alert', 'truncated']);
    await expect.poll(() => built.feed.listenerCount()).toBe(1);
    replayRead();
    await expect.poll(() => vi.mocked(built.store.after).mock.results.length).toBe(1);
    await vi.mocked(built.store.after).mock.results[0]!.value;
    built.feed.publishGap({ through: [1, 5] });
    built.feed.publishGap({ through: [4, 0] });
    const later = makeStoredAlert();
    built.feed.publish(later, [4, 1]);

    expect((await events).map((event) => event.id || event.event)).toEqual([
      second.id,
      'truncated',
      'truncated',
      later.id,
    ]);
  });

  // Regression: a replay whose read failed sent the live alerts on, so the client's Last-Event-ID
  // moved past the ones it had missed, which it then never got, nor was told of.
  it('ends the stream when the replay read fails, so the client reconnects from the same Last-Event-ID', async () => {
    const built = buildTestApp();
    const base = await listen(built);
    const first = await post(base, 'samples/valid/001-demo-034-terminal-shell-in-container.json');
    await post(base, 'samples/valid/002-demo-034-write-below-root.json');
    const live = makeStoredAlert();
    vi.spyOn(built.store, 'after').mockImplementation(async () => {
      // Published while the read is under way, as a live alert would be.
      built.feed.publish(live);
      await new Promise((resolve) => setImmediate(resolve));
      throw new Error('store read timed out');
    });
    const res = await fetch(`${base}/alerts/stream`, { headers: { 'Last-Event-ID': first.id } });
    const reader = res.body!.getReader();
    let text = '';
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      text += new TextDecoder().decode(read.value);
      // Before: the stream went on, with the live alert next.
      if (text.includes(`id: ${live.id}`)) break;
    }
    await reader.cancel();

    expect(text).not.toMatch(/^id: /m);
    expect(text).toContain(': replay failed, reconnect');
  });

  // Regression (issue 18.4): a replay re-serialised up to 1000 stored alerts of any size at once.
  it('replays only the newest alerts that fit QUERY_MAX_BYTES, marked as truncated', async () => {
    const built = buildTestApp({ env: { QUERY_MAX_BYTES: String(64 * 1024) } });
    const base = await listen(built);
    const postBig = (index: number) =>
      fetch(`${base}/alerts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          rule: `r${index}`,
          priority: 'Notice',
          time: '2026-11-30T12:00:00Z',
          output: 'x'.repeat(20_000),
        }),
      }).then((r) => r.headers.get('x-alert-id')!);
    const ids: string[] = [];
    for (let index = 0; index < 10; index++) ids.push(await postBig(index));

    const res = await fetch(`${base}/alerts/stream`, { headers: { 'Last-Event-ID': ids[0]! } });
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes(`id: ${ids[9]}`)) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();

    const replayed = [...text.matchAll(/^id: (.+)$/gm)].map((match) => match[1]);
    expect(text).toContain(': replay truncated');
    // EventSource hides comments: the page sees this event and loads its list again.
    expect(text).toContain('event: truncated\ndata: {"reason":"QUERY_MAX_BYTES"}\n\n');
    expect(replayed).toEqual(ids.slice(10 - replayed.length));
    expect(replayed.length).toBeLessThan(9);
    expect(replayed.length).toBeGreaterThan(0);
  });

  it('says the replay is cut when more than 1000 alerts came after Last-Event-ID, filtered or not', async () => {
    const built = buildTestApp();
    const base = await listen(built);
    const alert = (rule: string) =>
      JSON.stringify({ rule, priority: 'Notice', time: '2026-11-30T12:00:00Z', output: 'o' });
    const add = (rule: string) =>
      fetch(`${base}/alerts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: alert(rule),
      }).then((r) => r.headers.get('x-alert-id')!);
    const before = await add('Before');
    await add('Needle');
    for (let i = 0; i < 1000; i++) await add('Other');
    const last = await add('Last');

    const read = async (path: string, until: string) => {
      const res = await fetch(`${base}${path}`, { headers: { 'Last-Event-ID': before } });
      const reader = res.body!.getReader();
      let text = '';
      while (!text.includes(until)) text += new TextDecoder().decode((await reader.read()).value);
      await reader.cancel();
      return text;
    };
    // The Needle alert is older than the newest 1000: not replayed, and the client is told so.
    const filtered = await read('/alerts/stream?rule=Needle', 'replay truncated');
    expect(filtered).toContain(': replay truncated (more than 1000 alerts were missed)');
    expect(filtered).not.toContain('event: alert');
    const all = await read('/alerts/stream', `id: ${last}`);
    expect(all.indexOf(': replay truncated')).toBeLessThan(all.indexOf('event: alert'));
    expect([...all.matchAll(/^id: /gm)]).toHaveLength(1000);
  }, 30_000);

  it('says the replay is cut when Last-Event-ID is no longer stored (evicted), instead of sending nothing', async () => {
    const built = buildTestApp({ env: { STORE_MAX_ALERTS: '5' } });
    const base = await listen(built);
    const add = (index: number) =>
      fetch(`${base}/alerts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ rule: `r${index}`, priority: 'Notice', time: '2026-11-30T12:00:00Z' }),
      }).then((r) => r.headers.get('x-alert-id')!);
    const first = await add(0);
    for (let index = 1; index <= 8; index++) await add(index);

    const res = await fetch(`${base}/alerts/stream`, { headers: { 'Last-Event-ID': first } });
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('replay truncated')) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(text).toContain(': replay truncated (Last-Event-ID is no longer stored)');
  });

  it('unsubscribes a client that disconnects', async () => {
    const built = buildTestApp();
    const base = await listen(built);
    const controller = new AbortController();
    await fetch(`${base}/alerts/stream`, { signal: controller.signal });
    await expect.poll(() => built.feed.listenerCount()).toBe(1);
    controller.abort();
    await expect.poll(() => built.feed.listenerCount()).toBe(0);
  });

  it('answers 400 for an invalid filter', async () => {
    const built = buildTestApp();
    const base = await listen(built);
    const res = await fetch(`${base}/alerts/stream?min_priority=loud`);
    expect(res.status).toBe(400);
  });

  it('answers 429 past STREAM_MAX_CLIENTS', async () => {
    const built = buildTestApp({ env: { STREAM_MAX_CLIENTS: '1' } });
    const base = await listen(built);
    const first = new AbortController();
    await fetch(`${base}/alerts/stream`, { signal: first.signal });
    const second = await fetch(`${base}/alerts/stream`);
    expect(second.status).toBe(429);
    first.abort();
  });

  // Regression: a dropped slow client kept its heartbeat, whose write after end crashed the process.
  it('cuts off a client that stops reading and keeps serving', async () => {
    const built = buildTestApp({ env: { STREAM_HEARTBEAT_MS: '20' } });
    const base = await listen(built);
    const port = Number(new URL(base).port);
    const socket = net.connect(port, '127.0.0.1');
    socket.write('GET /alerts/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    socket.pause();
    await expect.poll(() => built.feed.listenerCount()).toBe(1);
    const big = JSON.stringify({
      rule: 'Big',
      priority: 'Notice',
      time: '2026-06-15T10:00:00.000000000Z',
      output: 'A'.repeat(900_000),
    });
    for (let i = 0; i < 12 && built.feed.listenerCount() > 0; i++) {
      await fetch(`${base}/alerts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: big,
      });
    }
    await expect.poll(() => built.feed.listenerCount()).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 100)); // several heartbeats after the drop
    expect(built.logLines.some((line) => line['event'] === 'stream_client_dropped')).toBe(true);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    socket.destroy();
  });
});
