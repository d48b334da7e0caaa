import { parse } from 'lossless-json';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { loadFalcoFixtures, readFixture } from '../helpers/fixtures.js';
import { prefersRepresentation } from '../../src/http/routes/accepted-response.js';
import { buildTestApp, metricValue } from '../helpers/test-app.js';

const fixtures = [...loadFalcoFixtures('samples'), ...loadFalcoFixtures('own')];
const LOOPBACK = /^(::ffff:)?127\.0\.0\.1$|^::1$/;
const accepted = fixtures.filter((f) => f.expect === 'accept');
const rejectedJson = fixtures.filter((f) => f.expect === 'reject' && f.file.endsWith('.json'));

function postAlert(
  app: ReturnType<typeof buildTestApp>['app'],
  body: Buffer | string,
  path = '/alerts',
  headers: Record<string, string> = {},
) {
  // serialize: send the bytes as they are (superagent would JSON-encode a Buffer).
  return request(app)
    .post(path)
    .set('Content-Type', 'application/json')
    .set('User-Agent', 'falcosecurity/falco')
    .set(headers)
    .serialize((raw: unknown) => raw as string)
    .send(body as unknown as string);
}

describe('POST /alerts', () => {
  it.each(accepted.map((f) => [f.file, f] as const))(
    'accepts %s and counts it under its rule, priority and source',
    async (_file, fixture) => {
      const { app, metrics } = buildTestApp();
      const labels = {
        // A label carries no control characters or line separators: each is U+FFFD there (the
        // alert keeps them).
        // eslint-disable-next-line no-control-regex -- the control characters are the point
        rule: (fixture.rule ?? '').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '\uFFFD'),
        priority: fixture.priority ?? '',
        source: fixture.source ?? 'internal',
      };
      const before = await metricValue(metrics.registry, 'falco_alerts_total', labels);
      const res = await postAlert(app, fixture.body);
      expect(res.status).toBe(202);
      expect(res.headers['x-alert-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers['location']).toBe(`/alerts/${res.headers['x-alert-id']}`);
      // Falco 0.34 prints every response body into its own log: none unless asked for.
      expect(res.text).toBe('');
      expect(res.headers['content-length']).toBe('0');
      expect(await metricValue(metrics.registry, 'falco_alerts_total', labels)).toBe(before + 1);
    },
  );

  // Go's encoding/json, Rust's serde_json and Elasticsearch refuse 1e+9999: a log pipeline built
  // on them could drop the whole line, the alert's durable record.
  it('writes the 1e+9999 jsoncpp writes for an infinite double as null (as Falco 0.39+ does) in the stored, served and logged alert', async () => {
    const { app, rawLogLines } = buildTestApp();
    const body = readFixture('own/valid/v51-037-metrics-snapshot-infinite-rate.json');
    expect(body.toString()).toContain('"falco.evts_rate_sec":1e+9999');
    const res = await postAlert(app, body);
    expect(res.status).toBe(202);
    const served = await request(app).get(res.headers['location']!);
    expect(served.status).toBe(200);
    expect(served.text).toContain('"falco.evts_rate_sec":null');
    expect(served.text).toContain('"evt.time":1719482400000412008');
    const line = rawLogLines.find((l) => l.includes('"event":"falco_alert"'))!;
    expect(line).toContain('"falco.evts_rate_sec":null');
    expect(line).toContain('"evt.time":1719482400000412008');
    expect(line).not.toContain('e+9999');
  });

  it.each(rejectedJson.map((f) => [f.file, f] as const))(
    'rejects %s with a 400 problem naming its field, counted',
    async (_file, fixture) => {
      const { app, metrics, store } = buildTestApp();
      const res = await postAlert(app, fixture.body);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const problem = JSON.parse(res.text) as {
        type: string;
        status: number;
        detail: string;
        errors: { pointer: string }[];
      };
      expect(problem.status).toBe(400);
      expect(problem.type).toMatch(/^urn:falco-alert-receiver:problem:/);
      expect(problem.errors.length).toBeGreaterThan(0);
      if (fixture.pointer !== undefined)
        expect(problem.errors.map((e) => e.pointer)).toContain(fixture.pointer);
      expect(problem.detail.length).toBeGreaterThan(0);
      const rejections = await metrics.registry.getSingleMetric('falco_alerts_rejected_total')!.get();
      expect(rejections.values.reduce((sum, v) => sum + v.value, 0)).toBe(1);
      expect(await store.count()).toBe(0);
    },
  );

  it('also ingests on POST / for URLs written for falcosidekick', async () => {
    const { app } = buildTestApp();
    const res = await postAlert(
      app,
      readFixture('samples/valid/093-latest-terminal-shell-in-container.json'),
      '/',
    );
    expect(res.status).toBe(202);
  });

  // Regression: a Falco whose http_output.url had a wrong path (a typo, `//alerts` from a joined
  // base URL) got 404s that were neither logged nor counted, so every alert was lost unseen; and a
  // path that serves other methods (still posting to /alerts/<secret> after INGEST_PATH_SECRET was
  // unset) its 405s.
  it.each([
    ['/alert', 404],
    ['//alerts', 404],
    ['/api/v1/alerts', 404],
    ['/alerts/a-former-path-secret-1234', 405],
    ['/alerts/stream', 405],
    ['/metrics', 405],
  ])('counts a POST to %s (%i) as unknown_path and logs it with its path', async (path, status) => {
    const { app, metrics, logLines } = buildTestApp();
    const res = await postAlert(
      app,
      readFixture('samples/valid/093-latest-terminal-shell-in-container.json'),
      path,
    );
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    if (status === 404) expect(JSON.parse(res.text).detail).toContain('/alerts');
    else expect(res.headers.allow).not.toContain('POST');
    expect(
      await metricValue(metrics.registry, 'falco_alerts_rejected_total', { reason: 'unknown_path' }),
    ).toBe(1);
    expect(logLines.filter((l) => l.event === 'alert_rejected')).toEqual([
      expect.objectContaining({
        level: 'warn',
        reason: 'unknown_path',
        status,
        path,
        caller: expect.stringMatching(LOOPBACK),
      }),
    ]);
  });

  it.each([
    ['the fast path', 'application/json'],
    ['Express', 'application/json; charset=utf-8'],
  ])(
    "logs a refused alert with the caller's address, which names the sensor (%s)",
    async (_path, contentType) => {
      const { app, logLines } = buildTestApp();
      expect((await postAlert(app, '{"rule":', '/alerts', { 'Content-Type': contentType })).status).toBe(400);
      expect(logLines.filter((l) => l.event === 'alert_rejected')).toEqual([
        expect.objectContaining({ reason: 'malformed_json', caller: expect.stringMatching(LOOPBACK) }),
      ]);
    },
  );

  it('cuts the path of a POST to an unknown path at 200 characters in its log line and its answer', async () => {
    const { app, logLines } = buildTestApp();
    const path = '/' + 'a'.repeat(5000);
    const res = await postAlert(app, '{}', path);
    expect(res.status).toBe(404);
    expect(logLines.find((l) => l.event === 'alert_rejected')?.path).toBe(`${path.slice(0, 200)}…`);
    // The answer names it cut too: an answer as long as the request line, held while a client
    // pipelines and never reads, is memory the client does not spend.
    expect(JSON.parse(res.text).detail).toContain(`No route for POST ${path.slice(0, 200)}….`);
  });

  it('counts no ingest rejection for a GET to an unknown path, or a POST to a trigger or sign-in path', async () => {
    const { app, metrics } = buildTestApp();
    expect((await request(app).get('/nowhere')).status).toBe(404);
    // Triggers are off in this app: their routes do not exist.
    expect((await request(app).post('/triggers/shell').send({})).status).toBe(404);
    expect((await request(app).post('/ui/nowhere').send({})).status).toBe(404);
    expect(
      await metricValue(metrics.registry, 'falco_alerts_rejected_total', { reason: 'unknown_path' }),
    ).toBe(0);
  });

  it('names /priority and /rule in the problem for a body with both wrong', async () => {
    const { app, metrics } = buildTestApp();
    const body = JSON.parse(
      readFixture('samples/valid/093-latest-terminal-shell-in-container.json').toString(),
    );
    const res = await postAlert(app, JSON.stringify({ ...body, rule: 7, priority: 'Severe' }));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).errors.map((e: { pointer: string }) => e.pointer)).toEqual([
      '/rule',
      '/priority',
    ]);
    expect(
      await metricValue(metrics.registry, 'falco_alerts_rejected_total', { reason: 'invalid_alert' }),
    ).toBe(1);
  });

  // A refusal names the bad field twice (detail and errors): a 1.8 MB key of `~` (each `~0` in a
  // pointer) made a 7.2 MB answer and a 3.6 MB log line, and such answers waiting in unread sockets
  // ran the heap out (found by review).
  const cutKey = `${`/output_fields/${'~0'.repeat(256)}`.slice(0, 256)}…`;
  it.each([
    ['an object under it', (key: string) => `{"${key}":{}}`, 1_700_000, 'invalid_alert', cutKey],
    ['it repeated', (key: string) => `{"${key}":1,"${key}":2}`, 850_000, 'duplicate_key', cutKey],
    // JSON that breaks off this far into the body is named by the body (the text is not searched back).
    ['a broken value under it', (key: string) => `{"${key}":tru}`, 1_700_000, 'malformed_json', ''],
  ])(
    'names a key as long as the body by the first 256 characters of its pointer, with %s: a small answer and log line',
    async (_name, fields, length, reason, pointer) => {
      const { app, metrics, rawLogLines } = buildTestApp();
      const head = '{"rule":"R","priority":"Notice","time":"2026-12-05T08:00:00Z","output_fields":';
      const res = await postAlert(app, `${head}${fields('~'.repeat(length))}}`);

      expect(res.status).toBe(400);
      expect(res.text.length).toBeLessThan(4096);
      expect(JSON.parse(res.text).errors[0].pointer).toBe(pointer);
      expect(await metricValue(metrics.registry, 'falco_alerts_rejected_total', { reason })).toBe(1);
      expect(Math.max(...rawLogLines.map((line) => line.length))).toBeLessThan(8192);
    },
  );

  // Cut key by key, 20 fields under 256-character keys or one under 30 of them still made 15 to 24 KB
  // answers (found by the fixes' review): a pointer is cut as a whole, and 20 fields are named at most.
  it.each([
    [
      '40 fields under keys of 256',
      `{${Array.from({ length: 40 }, (_, i) => `"${'~'.repeat(253)}${i}":{}`).join(',')}}`,
    ],
    [
      'one under 30 nested keys of 256',
      `${'{"k'.concat('~'.repeat(253), '":').repeat(30)}{"a":1,"a":1}${'}'.repeat(30)}`,
    ],
    // Cut by characters, 256 of U+0001 wrote 1,536 bytes: 62 KB answers (found by review).
    [
      '40 fields under keys of 250 U+0001',
      `{${Array.from({ length: 40 }, (_, i) => `"${'\\u0001'.repeat(250)}k${i}":{}`).join(',')}}`,
    ],
    // A lone surrogate, sent escaped, is written escaped too (found by review: counted as 3 bytes).
    [
      '40 fields under keys of 250 lone surrogates',
      `{${Array.from({ length: 40 }, (_, i) => `"${'\\ud800'.repeat(250)}k${i}":{}`).join(',')}}`,
    ],
    [
      '40 fields under keys of 250 DEL',
      `{${Array.from({ length: 40 }, (_, i) => `"${'\u007f'.repeat(250)}k${i}":{}`).join(',')}}`,
    ],
  ])(
    'answers a body with %s in a few KB, naming each field by the start of its pointer',
    async (_name, fields) => {
      const { app, rawLogLines } = buildTestApp();
      const head = '{"rule":"R","priority":"Notice","time":"2026-12-05T08:00:00Z","output_fields":';
      const res = await postAlert(app, `${head}${fields}}`);

      expect(res.status).toBe(400);
      const problem = JSON.parse(res.text) as { detail: string; errors: Array<{ pointer: string }> };
      expect(problem.errors.length).toBeLessThanOrEqual(20);
      expect(Math.max(...problem.errors.map((e) => e.pointer.length))).toBeLessThanOrEqual(257);
      expect(res.text.length).toBeLessThan(16 * 1024);
      expect(Math.max(...rawLogLines.map((line) => Buffer.byteLength(line)))).toBeLessThan(8 * 1024);
    },
  );

  it('answers 415 with a json_output hint for the text/plain body Falco sends when json_output is false, and logs its text', async () => {
    const { app, metrics, logLines, store } = buildTestApp();
    const text = readFixture('samples/invalid/002-falco-text-output-json-output-false.txt').toString();
    const res = await request(app).post('/alerts').set('Content-Type', 'text/plain').send(text);
    expect(res.status).toBe(415);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(res.text).detail).toContain('json_output: true');
    expect(JSON.parse(res.text).header).toBe('Content-Type');
    expect(
      await metricValue(metrics.registry, 'falco_alerts_rejected_total', {
        reason: 'unsupported_media_type',
      }),
    ).toBe(1);
    // The alert is kept where it can be: its text, whole, in the refusal's log line.
    expect(logLines.filter((line) => line.event === 'alert_rejected')).toEqual([
      expect.objectContaining({ reason: 'unsupported_media_type', status: 415, text }),
    ]);
    expect(await store.count()).toBe(0);
  });

  it("shows a media type of the client's choosing by its start in the 415", async () => {
    const { app } = buildTestApp();
    // Found by review: all 15 KB of it, in the answer and the log line.
    const long = await request(app)
      .post('/alerts')
      .set('Content-Type', `multipart/${'x'.repeat(15_000)}`)
      .send('x');
    expect(long.status).toBe(415);
    expect(JSON.parse(long.text).detail).toBe(
      `Content-Type multipart/${'x'.repeat(30)}… is not JSON. Send application/json.`,
    );
  });

  it('keeps a text alert that is not UTF-8 as text with U+FFFD, and reads no other text type', async () => {
    const { app, logLines } = buildTestApp();
    const text = Buffer.concat([
      Buffer.from('12:00:00.000000000: Error File opened '),
      Buffer.from([0xff, 0x0a]),
    ]);
    const res = await request(app).post('/alerts').set('Content-Type', 'Text/Plain').send(text);
    expect(res.status).toBe(415);
    const other = await request(app).post('/alerts').set('Content-Type', 'text/html').send('<b>x</b>');
    expect(other.status).toBe(415);
    const refusals = logLines.filter((line) => line.event === 'alert_rejected');
    expect(refusals.map((line) => line.text)).toEqual([
      '12:00:00.000000000: Error File opened \uFFFD\n',
      undefined,
    ]);
  });

  it('answers 413 for a body above the cap and counts payload_too_large', async () => {
    const { app, metrics } = buildTestApp({ env: { BODY_LIMIT_BYTES: '2048' } });
    const res = await postAlert(app, '{"rule":"' + 'x'.repeat(4096) + '"}');
    expect(res.status).toBe(413);
    expect(JSON.parse(res.text).type).toBe('urn:falco-alert-receiver:problem:payload-too-large');
    expect(
      await metricValue(metrics.registry, 'falco_alerts_rejected_total', { reason: 'payload_too_large' }),
    ).toBe(1);
  });

  it("takes default-config Falco's largest alert and refuses a ~2 MiB body with the default cap", async () => {
    const { app } = buildTestApp();
    // A k8saudit configmap of quotes at the 256 KiB maxEventSize (each quote 2 bytes in the event):
    // the plugin renders it escaped, and the alert escapes that again, in output, output_fields and
    // message (json_include_message_property).
    const obj = JSON.stringify({ aws_access_key_id: '"'.repeat(130_000) });
    const output = `Detected configmap with private credential (user=admin verb=create configmap=creds config=${obj})`;
    const largest = JSON.stringify({
      hostname: 'falco-x7k2p',
      message: `2026-12-03T05:00:00.000000000+0000: Warning ${output}`,
      output: `05:00:00.000000000: Warning ${output}`,
      output_fields: { 'ka.user.name': 'admin', 'ka.verb': 'create', 'ka.req.configmap.obj': obj },
      priority: 'Warning',
      rule: 'Create/Modify Configmap With Private Credentials',
      source: 'k8s_audit',
      tags: ['k8s'],
      time: '2026-12-03T05:00:00.000000000Z',
    });
    expect(Buffer.byteLength(largest)).toBeGreaterThan(1.45 * 1024 * 1024);
    expect((await postAlert(app, largest)).status).toBe(202);
    const tooLarge = await postAlert(app, `{"rule":"r","x":"${'x'.repeat(2_000_000)}"}`);
    expect(tooLarge.status).toBe(413);
  });

  it('answers 415 for a compressed body (Falco never compresses uploads)', async () => {
    const { app } = buildTestApp();
    const res = await postAlert(app, Buffer.from([0x1f, 0x8b, 0x08, 0x00])).set('Content-Encoding', 'gzip');
    expect(res.status).toBe(415);
    // The header at fault is named, as errors[] names a body's fields.
    expect(JSON.parse(res.text)).toMatchObject({ header: 'Content-Encoding' });
  });

  it('accepts a body sent without a Content-Type', async () => {
    const { app } = buildTestApp();
    const res = await request(app)
      .post('/alerts')
      .send(readFixture('samples/valid/093-latest-terminal-shell-in-container.json').toString());
    expect(res.status).toBe(202);
  });

  it('answers 400 for an empty body, saying so', async () => {
    const { app } = buildTestApp();
    const res = await request(app).post('/alerts').set('Content-Type', 'application/json');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).detail).toBe('The body is empty.');
  });

  it('stores and logs a body with 2-, 3- and 4-byte characters exactly as received', async () => {
    const { app, rawLogLines } = buildTestApp();
    const cmdline = 'echo héllo → 日本 🙂 \\u00e9';
    const alert = JSON.parse(readFixture('samples/valid/002-demo-034-write-below-root.json').toString()) as {
      output_fields: Record<string, unknown>;
    };
    alert.output_fields['proc.cmdline'] = cmdline;
    const body = JSON.stringify(alert);
    const res = await postAlert(app, body);
    expect(res.status).toBe(202);
    const stored = await request(app).get(`/alerts/${res.headers['x-alert-id']}`);
    expect(stored.body.alert.output_fields['proc.cmdline']).toBe(cmdline);
    const line = rawLogLines.find((l) => l.includes('"event":"falco_alert"'));
    expect(line).toContain(`"alert":${body},"msg":"falco alert"}`);
  });

  it('decodes 0.34-era invalid UTF-8 bytes to U+FFFD', async () => {
    const { app } = buildTestApp();
    const res = await postAlert(app, readFixture('own/valid/v10-034-invalid-utf8-bytes.json'));
    const stored = await request(app).get(`/alerts/${res.headers['x-alert-id']}`);
    expect(stored.body.alert.output_fields['proc.cmdline']).toBe('cat \uFFFD\uFFFD\uFFFD(');
  });

  it('writes one log line per accepted alert with the alert under one key', async () => {
    const { app, logLines } = buildTestApp();
    const res = await postAlert(
      app,
      readFixture('samples/valid/002-demo-034-write-below-root.json'),
      '/alerts',
      {
        Prefer: 'return=representation',
      },
    );
    const lines = logLines.filter((line) => line['event'] === 'falco_alert');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      alertId: res.body.id,
      receivedAt: res.body.receivedAt,
      alert: { rule: 'Write below root', priority: 'Error', hostname: 'falco-5rlgd' },
    });
    expect(typeof lines[0]?.['reqId']).toBe('string');
  });

  it('keeps the ns timestamp digits exact in the log line', async () => {
    const { app, rawLogLines } = buildTestApp();
    await postAlert(app, readFixture('samples/valid/002-demo-034-write-below-root.json'));
    const line = rawLogLines.find((l) => l.includes('"event":"falco_alert"'));
    expect(line).toContain('"evt.time":1683182721243469810');
  });

  it('returns the exact digits of integers above 2^53 through GET /alerts and GET /alerts/:id', async () => {
    const { app } = buildTestApp();
    const posted = await postAlert(
      app,
      readFixture('samples/valid/104-latest-internal-metrics-snapshot.json'),
    );
    for (const path of ['/alerts', `/alerts/${posted.headers['x-alert-id']}`]) {
      const res = await request(app)
        .get(path)
        .buffer(true)
        .parse((r, done) => {
          let text = '';
          r.on('data', (c: Buffer) => (text += c.toString()));
          r.on('end', () => done(null, text));
        });
      const text = res.body as string;
      expect(text).toContain('"evt.time":1781517600000118203');
      expect(text).toContain('"falco.start_ts":1781503210870011993');
      const parsed = parse(text) as Record<string, unknown>;
      const item = (path === '/alerts' ? (parsed['alerts'] as Record<string, unknown>[])[0] : parsed) as {
        alert: { output_fields: Record<string, { toString(): string }> };
      };
      expect(item.alert.output_fields['evt.time']?.toString()).toBe('1781517600000118203');
    }
  });

  it('counts an internal alert without a source key under source="internal"', async () => {
    const { app, metrics } = buildTestApp();
    await postAlert(app, readFixture('samples/valid/102-034-internal-syscall-event-drop.json'));
    const labels = { rule: 'Falco internal: syscall event drop', priority: 'Debug', source: 'internal' };
    expect(await metricValue(metrics.registry, 'falco_alerts_total', labels)).toBe(1);
  });

  it('observes delivery delay and the sensor last-alert time from the receive clock', async () => {
    const receivedAt = Date.UTC(2023, 4, 4, 7, 28, 31, 510);
    const { app, metrics } = buildTestApp({ now: () => receivedAt });
    await postAlert(app, readFixture('samples/valid/001-demo-034-terminal-shell-in-container.json'));
    const sum = await metricValue(
      metrics.registry,
      'falco_alert_delivery_delay_seconds',
      { source: 'syscall' },
      'falco_alert_delivery_delay_seconds_sum',
    );
    expect(sum).toBeCloseTo(2, 3);
    expect(
      await metricValue(metrics.registry, 'falco_sensor_last_alert_timestamp_seconds', {
        hostname: 'falco-5rlgd',
      }),
    ).toBe(receivedAt / 1000);
  });

  // Regression: a node that boots with its RTC at 1970 (before NTP fixes it) sent alerts 56 years
  // "late": each added 1.8e9 s to the delay's sum, and the mean delay (rate of sum over count) of
  // every sensor of that source read decades for as long as the range held one such alert.
  it('takes at most a week of delivery delay from one alert, whatever year its sensor clock reads', async () => {
    const receivedAt = Date.UTC(2026, 5, 15, 9, 31, 45);
    const { app, metrics } = buildTestApp({ now: () => receivedAt });
    const body = readFixture('samples/valid/001-demo-034-terminal-shell-in-container.json')
      .toString()
      .replace(/"time":"[^"]+"/, '"time":"1970-01-01T00:00:00.000000000Z"');
    const delay = (name: string) =>
      metricValue(metrics.registry, 'falco_alert_delivery_delay_seconds', { source: 'syscall' }, name);

    expect((await postAlert(app, body)).status).toBe(202);

    expect(await delay('falco_alert_delivery_delay_seconds_sum')).toBe(7 * 86_400);
    expect(await delay('falco_alert_delivery_delay_seconds_count')).toBe(1);
  });

  it('counts an alert stamped 1 s or more after its receipt as its sensor clock ahead, and says by how much in its log line', async () => {
    // The sample's time is 2023-05-04T07:28:29.510Z; the first is received 90 s before it, the
    // second 0.5 s before it (clock jitter, not counted).
    const alertTime = Date.UTC(2023, 4, 4, 7, 28, 29, 510);
    const clock = [alertTime - 90_000, alertTime - 500];
    const { app, metrics, logLines } = buildTestApp({ now: () => clock.shift() ?? alertTime });
    const body = readFixture('samples/valid/001-demo-034-terminal-shell-in-container.json');
    const ahead = (name: string) =>
      metricValue(metrics.registry, 'falco_alert_clock_ahead_seconds', { source: 'syscall' }, name);

    expect((await postAlert(app, body)).status).toBe(202);
    expect((await postAlert(app, body)).status).toBe(202);

    expect(await ahead('falco_alert_clock_ahead_seconds_count')).toBe(1);
    expect(await ahead('falco_alert_clock_ahead_seconds_sum')).toBeCloseTo(90, 3);
    const lines = logLines.filter((line) => line['event'] === 'falco_alert');
    expect(lines.map((line) => line['clockAheadSeconds'])).toEqual([90, undefined]);
  });

  it('keeps serving after every kind of rejection (no alert lost behind a bad one)', async () => {
    const { app, store } = buildTestApp();
    for (const fixture of rejectedJson) await postAlert(app, fixture.body);
    const res = await postAlert(
      app,
      readFixture('samples/valid/093-latest-terminal-shell-in-container.json'),
    );
    expect(res.status).toBe(202);
    expect(await store.count()).toBe(1);
  });

  it('labels request durations with the route pattern each path matched', async () => {
    const { app, metrics } = buildTestApp();
    await postAlert(app, readFixture('samples/valid/093-latest-terminal-shell-in-container.json'));
    await postAlert(app, readFixture('samples/valid/093-latest-terminal-shell-in-container.json'), '/');
    await request(app).get('/alerts/some-id');
    const labels = (path: string, status: string) => ({
      method: path === '/alerts/:id' ? 'GET' : 'POST',
      route: path,
      status,
    });
    const count = (path: string, status: string) =>
      metricValue(
        metrics.registry,
        'http_request_duration_seconds',
        labels(path, status),
        'http_request_duration_seconds_count',
      );
    expect(await count('/alerts', '202')).toBe(1);
    expect(await count('/', '202')).toBe(1);
    expect(await count('/alerts/:id', '404')).toBe(1);
  });

  // Regression: a body refused while it was read (too large, compressed) was timed under the route
  // `/alerts/` (or `//` for `POST /`), a path no request names, beside `/alerts`'s other answers.
  it('labels a body refused while read with the ingest route it was posted to', async () => {
    const { app, metrics } = buildTestApp({ env: { BODY_LIMIT_BYTES: '1024' } });
    const large = `{"rule":"${'x'.repeat(2048)}"}`;
    await postAlert(app, large);
    await postAlert(app, large, '/');
    await postAlert(app, '{}', '/alerts', { 'Content-Encoding': 'gzip' });
    const count = (route: string, status: string) =>
      metricValue(
        metrics.registry,
        'http_request_duration_seconds',
        { method: 'POST', route, status },
        'http_request_duration_seconds_count',
      );
    expect(await count('/alerts', '413')).toBe(1);
    expect(await count('/', '413')).toBe(1);
    expect(await count('/alerts', '415')).toBe(1);
  });

  it('answers 415 for a declared charset other than UTF-8', async () => {
    const { app } = buildTestApp();
    const body = readFixture('samples/valid/093-latest-terminal-shell-in-container.json');
    const utf16 = await postAlert(app, body).set('Content-Type', 'application/json; charset=utf-16');
    expect(utf16.status).toBe(415);
    expect(JSON.parse(utf16.text)).toMatchObject({ header: 'Content-Type' });
    const utf8 = await postAlert(app, body).set('Content-Type', 'application/json; charset=UTF-8');
    expect(utf8.status).toBe(202);
  });
});

describe('Prefer: return=representation (RFC 7240)', () => {
  it.each([
    ['return=representation', true],
    ['respond-async, return=representation', true],
    ['RETURN = "representation"; foo=bar', true],
    [['wait=5', 'return=representation'], true],
    ['return=minimal', false],
    ['return=representationx', false],
    [undefined, false],
  ] as const)('reads %j as %s', (prefer, wanted) => {
    expect(prefersRepresentation(prefer as string | string[] | undefined)).toBe(wanted);
  });
});
