import request from 'supertest';
import { describe, expect, it, onTestFinished } from 'vitest';
import { csvCell } from '../../src/http/routes/alert-export.js';
import { longestLoopStall } from '../helpers/loop-stall.js';
import { redisAvailable, startRedis } from '../helpers/redis-server.js';
import { serveForTest } from '../helpers/serve-for-test.js';
import { buildTestApp } from '../helpers/test-app.js';

// Sent as text so the 19-digit integer reaches the receiver exactly as Falco writes it.
const BIG =
  '{"rule":"Big number","priority":"Notice","time":"2026-06-15T09:31:44.611094417Z","output":"big","tags":["a"],"output_fields":{"evt.time":1781515904611094417,"k8s.ns.name":"prod"}}';
const FORMULA = JSON.stringify({
  rule: '=HYPERLINK("http://x","y")',
  priority: 'Critical',
  time: '2026-06-15T09:31:45Z',
  hostname: '+node',
  output: '@SUM(1+1), "quoted"\nsecond line',
  tags: ['-t1', 'ok'],
});

// About 96 kB: 24,000 list items and a long non-integer number, which sends the text to the strict
// parser (12 ms an alert) whenever it is parsed again.
const heavy = (index: number) =>
  `{"rule":"Heavy ${index}","priority":"Notice","time":"2026-06-15T09:31:44.611094417Z","output":"heavy ${index}",` +
  `"output_fields":{"ratio":1.2345678901234567e5,` +
  Array.from({ length: 8 }, (_, list) => `"list${list}":[${Array(3000).fill('0.5').join(',')}]`).join(',') +
  '}}';

async function seeded(...bodies: string[]) {
  const built = buildTestApp();
  for (const body of bodies) {
    const res = await request(built.app).post('/alerts').set('Content-Type', 'application/json').send(body);
    expect(res.status).toBe(202);
  }
  return built;
}

/** Parses RFC 4180 CSV (quoted cells with doubled quotes and line breaks, CRLF row ends). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted && c === '"' && text[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (!quoted && c === ',') {
      row.push(cell);
      cell = '';
    } else if (!quoted && c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else {
      cell += c;
    }
  }
  return rows;
}

describe('GET /alerts?format=ndjson', () => {
  it('downloads one JSON line per alert, newest first, keeping every digit of a 19-digit integer', async () => {
    const { app } = await seeded(BIG, FORMULA);

    const res = await request(app)
      .get('/alerts?format=ndjson')
      .buffer(true)
      .parse((r, done) => {
        let text = '';
        r.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        r.on('end', () => done(null, text));
      });

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(
      /^attachment; filename="falco-alerts-[0-9T-]+\.ndjson"$/,
    );
    const lines = (res.body as string).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(JSON.parse(lines[0]!).alert.rule).toBe('=HYPERLINK("http://x","y")');
    expect(lines[1]).toContain('"evt.time":1781515904611094417');
    expect(JSON.parse(lines[1]!)).toMatchObject({ id: expect.any(String), source: 'unknown' });
  });

  it('applies the same filters and limit as the JSON list', async () => {
    const { app } = await seeded(BIG, FORMULA, BIG);

    const res = await request(app).get('/alerts?format=ndjson&namespace=prod&tag=a&limit=1').buffer(true);

    expect(res.status).toBe(200);
    expect(res.text.trim().split('\n')).toHaveLength(1);
    expect(res.text).toContain('"rule":"Big number"');
  });

  it('is bounded by the query limit: above 1000 is refused, naming limit', async () => {
    const { app } = await seeded(BIG);

    const res = await request(app).get('/alerts?format=ndjson&limit=1001');

    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).errors).toEqual([expect.objectContaining({ pointer: 'limit' })]);
  });

  // Regression: the store read the alerts' texts in one go and the file was built in one call:
  // 32 MB held the event loop for 420 ms.
  it('reads and writes an export of 32 MB without holding the event loop', async () => {
    const MiB = 1024 * 1024;
    const built = buildTestApp({
      env: {
        STORE_MAX_BYTES: String(40 * MiB),
        QUERY_MAX_BYTES: String(32 * MiB),
        QUERY_MAX_INFLIGHT_BYTES: String(64 * MiB),
      },
      logLevel: 'warn',
    });
    const blob = 'b'.repeat(200 * 1024);
    for (let index = 0; index < 160; index++) {
      const body = `{"rule":"r${index}","priority":"Notice","time":"2026-06-15T09:31:44Z","output":"${blob}"}`;
      expect((await request(built.app).post('/alerts').type('json').send(body)).status).toBe(202);
    }
    const base = await serveForTest(built.app);

    // The process's first fetch loads and compiles the client (undici) in one piece: not the export.
    await (await fetch(`${base}/healthz`)).text();
    let lines = 0;
    const stall = await longestLoopStall(async () => {
      const res = await fetch(`${base}/alerts?format=ndjson&limit=1000`);
      // Counted as they come: a client that joined 32 MB into one text would hold the loop itself.
      // With indexOf: a callback per byte (Uint8Array.filter) took 1-3 ms a 64 KB chunk, and the
      // chunks already buffered are iterated in one turn (promises, no timer between): the test's own
      // client was most of a 100-160 ms stall, 34-78 ms without it (session 54, a loaded machine).
      for await (const chunk of res.body!) {
        const bytes = chunk as Uint8Array;
        for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) lines += 1;
      }
    });

    expect(lines).toBe(160);
    expect(stall).toBeLessThan(150);
  }, 60_000);

  it('keeps a download within QUERY_MAX_BYTES: the newest alerts that fit, marked truncated', async () => {
    const built = buildTestApp({ env: { QUERY_MAX_BYTES: String(64 * 1024) } });
    const ids: string[] = [];
    for (let index = 0; index < 10; index++) {
      const body = JSON.stringify({
        rule: `r${index}`,
        priority: 'Notice',
        time: '2026-06-15T09:31:44Z',
        output: 'x'.repeat(20_000),
      });
      const res = await request(built.app).post('/alerts').set('Content-Type', 'application/json').send(body);
      ids.push(res.headers['x-alert-id'] as string);
    }

    for (const format of ['ndjson', 'csv']) {
      const res = await request(built.app).get(`/alerts?format=${format}&limit=1000`);
      expect(res.status).toBe(200);
      expect(res.headers['x-alerts-truncated']).toBe('true');
      expect(res.text.length).toBeLessThan(64 * 1024 + 4096);
      // The newest three fit (20 kB each), newest first.
      for (const id of ids.slice(7)) expect(res.text).toContain(id);
      expect(res.text).not.toContain(ids[6]);
    }
    const small = await request(built.app).get('/alerts?format=ndjson&limit=2');
    expect(small.headers['x-alerts-truncated']).toBeUndefined();
  });
});

// Regression: the JSON list was cut by the bytes it wrote and the downloads by the bytes received
// (without the {id, receivedAt, source} around each alert): with QUERY_MAX_BYTES=65536 and 800 small
// alerts, JSON listed 316 and the downloads 704, the JSON Lines 145,724 bytes.
describe('GET /alerts in every format', () => {
  const CAP = 64 * 1024;
  const listed = async (base: string) => {
    const read = async (format: string) => {
      const res = await fetch(`${base}/alerts?format=${format}&limit=1000`);
      expect(res.status).toBe(200);
      const body = Buffer.from(await res.arrayBuffer());
      return {
        bytes: body.length,
        text: body.toString('utf8'),
        truncated: res.headers.get('x-alerts-truncated'),
      };
    };
    const json = await read('json');
    const page = JSON.parse(json.text) as { alerts: Array<{ id: string }>; truncated?: boolean };
    const ndjson = await read('ndjson');
    const csv = await read('csv');
    return {
      json: { bytes: json.bytes, truncated: page.truncated === true, ids: page.alerts.map((a) => a.id) },
      ndjson: {
        bytes: ndjson.bytes,
        truncated: ndjson.truncated === 'true',
        ids: ndjson.text
          .trim()
          .split('\n')
          .map((line) => (JSON.parse(line) as { id: string }).id),
      },
      csv: {
        bytes: csv.bytes,
        truncated: csv.truncated === 'true',
        ids: parseCsv(csv.text)
          .slice(1)
          .map((row) => row[0]!),
      },
    };
  };

  it('lists the same alerts as JSON, JSON Lines and CSV, each answer within QUERY_MAX_BYTES', async () => {
    const built = buildTestApp({ env: { QUERY_MAX_BYTES: String(CAP) }, logLevel: 'warn' });
    const base = await serveForTest(built.app);
    const posted: string[] = [];
    for (let index = 0; index < 800; index++) {
      const body = `{"rule":"r${index}","priority":"Notice","time":"2026-06-15T09:31:44Z","output":"o"}`;
      const res = await fetch(`${base}/alerts`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(202);
      posted.push(res.headers.get('x-alert-id')!);
    }

    const lists = await listed(base);

    const newest = posted.slice().reverse();
    for (const list of Object.values(lists)) {
      expect(list.truncated).toBe(true);
      expect(list.ids).toEqual(newest.slice(0, lists.json.ids.length));
      expect(list.bytes).toBeLessThanOrEqual(CAP);
    }
    // The cut is near the cap, not far below it: each alert is about 200 bytes as written.
    expect(lists.json.bytes).toBeGreaterThan(CAP - 1024);
  });

  it('lists one alert larger than QUERY_MAX_BYTES alone, in every format', async () => {
    const built = buildTestApp({ env: { QUERY_MAX_BYTES: String(CAP) }, logLevel: 'warn' });
    const base = await serveForTest(built.app);
    const post = async (output: string) => {
      const body = JSON.stringify({ rule: 'r', priority: 'Notice', time: '2026-06-15T09:31:44Z', output });
      const res = await fetch(`${base}/alerts`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
      return res.headers.get('x-alert-id')!;
    };
    await post('small');
    const large = await post('x'.repeat(CAP + 1000));

    const lists = await listed(base);

    for (const list of Object.values(lists)) {
      expect(list).toMatchObject({ ids: [large], truncated: true });
      expect(list.bytes).toBeLessThan(CAP + 1000 + 512);
    }
  });

  // Regression: the memory store ended a list at the bytes of the texts it held, where the list's
  // cut and a shared store count the bytes received. Invalid UTF-8 is held as U+FFFD (three bytes
  // for one): a 30 kB body held as 90 kB ended the list at QUERY_MAX_BYTES=65536 with that alert
  // alone, an older matching one left out, and the list said it was whole (Redis said it was cut).
  const cutAtHeldText = async (env: Record<string, string>) => {
    const built = buildTestApp({ env: { QUERY_MAX_BYTES: String(CAP), ...env }, logLevel: 'warn' });
    onTestFinished(() => built.closeStore());
    await built.storeTried();
    const base = await serveForTest(built.app);
    const post = async (rule: string, invalidBytes: number) => {
      const body = Buffer.concat([
        Buffer.from(`{"rule":"${rule}","priority":"Notice","time":"2026-06-15T09:31:44Z","output":"`),
        Buffer.alloc(invalidBytes, 0xff),
        Buffer.from('"}'),
      ]);
      const res = await fetch(`${base}/alerts`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(202);
      return res.headers.get('x-alert-id')!;
    };
    await post('older', 10);
    const newest = await post('newest', 30_000);

    const lists = await listed(base);

    for (const list of Object.values(lists)) expect(list).toMatchObject({ ids: [newest], truncated: true });
  };

  it('says a list is cut at an alert whose text is larger than its body (invalid UTF-8)', async () => {
    await cutAtHeldText({});
  });

  it.skipIf(!redisAvailable())('says so alike with a shared store', async () => {
    const redis = await startRedis();
    onTestFinished(() => redis.stop());
    await cutAtHeldText({ STORE_URL: redis.url, STORE_KEY_PREFIX: 'cut-at-held-text' });
  });
});

describe('GET /alerts?format=csv', () => {
  it('downloads a header and one row per alert, defusing cells a spreadsheet would run as formulas', async () => {
    const { app } = await seeded(BIG, FORMULA);

    const res = await request(app).get('/alerts?format=csv');

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/\.csv"$/);
    const rows = parseCsv(res.text);
    expect(rows[0]).toEqual([
      'id',
      'receivedAt',
      'time',
      'priority',
      'rule',
      'source',
      'hostname',
      'namespace',
      'tags',
      'output',
    ]);
    expect(rows).toHaveLength(3);
    const [, formula, big] = rows;
    expect(formula!.slice(2)).toEqual([
      '2026-06-15T09:31:45Z',
      'Critical',
      `'=HYPERLINK("http://x","y")`,
      'unknown',
      "'+node",
      '',
      "'-t1 ok",
      `'@SUM(1+1), "quoted"\nsecond line`,
    ]);
    expect(big!.slice(3)).toEqual(['Notice', 'Big number', 'unknown', '', 'prod', 'a', 'big']);
  });

  // Regression: each row parsed its alert again (the strict parser for these), and the whole file
  // was built in one call: 80 such alerts held the event loop for 850 ms.
  it('formats an export of 80 alerts that are slow to parse without holding the event loop', async () => {
    const { app } = await seeded(...Array.from({ length: 80 }, (_, index) => heavy(index)));

    let res: request.Response | undefined;
    const stall = await longestLoopStall(async () => {
      res = await request(app).get('/alerts?format=csv&limit=1000');
    });

    expect(res?.status).toBe(200);
    const rows = parseCsv(res!.text);
    expect(rows).toHaveLength(81);
    expect(rows[1]!.slice(2)).toEqual([
      '2026-06-15T09:31:44.611094417Z',
      'Notice',
      'Heavy 79',
      'unknown',
      '',
      '',
      '',
      'heavy 79',
    ]);
    expect(stall).toBeLessThan(250);
  }, 30_000);

  // Regression: a cell's quotes were doubled by one replaceAll over the whole cell. An alert whose
  // output is 890,000 quotes (1.75 MiB of `\"`) made one row of it that held the loop 26-270 ms and
  // 30 MB of heap in one piece the writer could not pace; four of them, one 8 MiB export, 390-730 ms
  // (69-148 ms after, as for alerts of that size without quotes).
  it('formats cells of 890,000 quotes without holding the event loop', async () => {
    const quotes = 890 * 1024;
    const body = (index: number) =>
      `{"rule":"Quotes ${index}","priority":"Notice","time":"2026-06-15T09:31:44Z","output":"${'\\"'.repeat(quotes)}"}`;
    const { app } = await seeded(...Array.from({ length: 4 }, (_, index) => body(index)));
    const base = await serveForTest(app);

    const chunks: Uint8Array[] = [];
    const stall = await longestLoopStall(async () => {
      const res = await fetch(`${base}/alerts?format=csv&limit=1000`);
      // Decoded after: a client that joined 7 MB into one text would hold the loop itself.
      for await (const chunk of res.body!) chunks.push(chunk as Uint8Array);
    });

    const rows = Buffer.concat(chunks).toString('utf8').split('\r\n').slice(1, -1);
    expect(rows).toHaveLength(4);
    for (const row of rows) expect(row.endsWith(`,"${'""'.repeat(quotes)}"`)).toBe(true);
    expect(stall).toBeLessThan(200);
  }, 60_000);

  it('fills the output column from message when Falco sends no output (Falco 0.39+ option)', async () => {
    const messageOnly = JSON.stringify({
      rule: 'Terminal shell in container',
      priority: 'Notice',
      time: '2026-06-15T09:31:46Z',
      message: 'A shell was spawned in a container with an attached terminal',
    });
    const { app } = await seeded(messageOnly);

    const rows = parseCsv((await request(app).get('/alerts?format=csv')).text);

    expect(rows[1]!.at(-1)).toBe('A shell was spawned in a container with an attached terminal');
  });

  it.each([
    ['=1+1', "'=1+1"],
    ['+1', "'+1"],
    ['-1', "'-1"],
    ['@A1', "'@A1"],
    ['\tx', "'\tx"],
    // Past leading spaces (any kind), line breaks and quotes, and in fullwidth, as some importers read them.
    [' =cmd|calc', "' =cmd|calc"],
    ['\u00a0=1', "'\u00a0=1"],
    ['\n=1+1', '"\'\n=1+1"'],
    ['"=cmd|calc', '"\'""=cmd|calc"'],
    ['\uff1d1+1', "'\uff1d1+1"],
    ['a = b', 'a = b'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['plain text', 'plain text'],
  ])('writes the cell %j as %j', (value, cell) => {
    expect(csvCell(value)).toBe(cell);
  });
});
