import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { readFixture } from '../helpers/fixtures.js';
import { RAW_LINE_BREAKERS, splitLinesLikePython } from '../helpers/line-breakers.js';
import { measureLoopStall } from '../helpers/loop-stall.js';
import { serveForTest } from '../helpers/serve-for-test.js';
import { buildTestApp } from '../helpers/test-app.js';

// Regression (security review): U+2028, U+2029, DEL and C1 controls (U+0085 NEL, U+009B CSI) were
// written raw into log lines and /metrics. The lines stayed valid JSON, but a reader that splits on
// Unicode line breaks (Python's str.splitlines, some log shippers) cut them into unparsable
// pieces, and a raw CSI can drive a terminal.
const RULE = 'R\u2028INJ\u009b31m\u007f';

const PATHS = [
  ['the fast path', 'application/json'],
  ['Express', 'application/json; charset=utf-8'],
] as const;

function alertWith(fields: Record<string, unknown>): Record<string, unknown> {
  const sample = JSON.parse(
    readFixture('samples/valid/093-latest-terminal-shell-in-container.json').toString(),
  );
  return { ...sample, ...fields };
}

function post(app: ReturnType<typeof buildTestApp>['app'], body: string, contentType: string) {
  return request(app)
    .post('/alerts')
    .set('Content-Type', contentType)
    .serialize((raw: unknown) => raw as string)
    .send(body);
}

/** Every line of the log, split as Python's splitlines does, parses on its own. */
function expectEveryPieceParses(rawLogLines: string[]): void {
  const pieces = splitLinesLikePython(rawLogLines.join('\n'));
  expect(pieces).toHaveLength(rawLogLines.length);
  for (const piece of pieces) expect(() => JSON.parse(piece) as unknown).not.toThrow();
}

describe('line breaks and C1 controls in log lines and labels', () => {
  it.each(PATHS)('escapes them in the accepted alert line, raw in the body (%s)', async (_path, type) => {
    const { app, rawLogLines } = buildTestApp();
    const alert = alertWith({
      rule: RULE,
      output_fields: { 'proc.cmdline': 'a\u2029b\u0085c\u0080d\u009fe', 'x\u2028y': 'é°\u00a0…—' },
    });
    // JSON.stringify leaves these characters raw: the body holds their UTF-8 bytes.
    const body = JSON.stringify(alert);
    expect(Buffer.from(body).includes(Buffer.from([0xe2, 0x80, 0xa8]))).toBe(true);

    expect((await post(app, body, type)).status).toBe(202);

    const line = rawLogLines.find((l) => l.includes('"event":"falco_alert"'))!;
    expect(line).not.toMatch(RAW_LINE_BREAKERS);
    expect(line).toContain(String.raw`"rule":"R\u2028INJ\u009b31m\u007f"`);
    expect((JSON.parse(line) as { alert: unknown }).alert).toEqual(alert);
    expectEveryPieceParses(rawLogLines);
  });

  // What real Falco sends: 0.34.1 (jsoncpp) escapes U+2028 and writes DEL raw; the latest
  // (nlohmann, ensure_ascii false) writes DEL, U+2028 and U+2029 raw.
  it.each([
    'own/valid/v47-real-0341-empty-hostname-raw-del.json',
    'own/valid/v48-latest-raw-del-and-line-separators.json',
  ])('escapes them in the line of %s', async (fixture) => {
    const { app, rawLogLines } = buildTestApp();
    const body = readFixture(fixture).toString();
    expect(body).toMatch(RAW_LINE_BREAKERS);
    expect((await post(app, body, 'application/json')).status).toBe(202);
    const line = rawLogLines.find((l) => l.includes('"event":"falco_alert"'))!;
    expect(line).not.toMatch(RAW_LINE_BREAKERS);
    expect((JSON.parse(line) as { alert: unknown }).alert).toEqual(JSON.parse(body));
    expectEveryPieceParses(rawLogLines);
  });

  it('escapes them in the line of a pretty-printed body, which is not copied as bytes', async () => {
    const { app, rawLogLines } = buildTestApp();
    const alert = alertWith({ rule: RULE });
    expect((await post(app, JSON.stringify(alert, null, 2), 'application/json')).status).toBe(202);
    const line = rawLogLines.find((l) => l.includes('"event":"falco_alert"'))!;
    expect(line).not.toMatch(RAW_LINE_BREAKERS);
    expect((JSON.parse(line) as { alert: unknown }).alert).toEqual(alert);
    expectEveryPieceParses(rawLogLines);
  });

  it.each(PATHS)('keeps them escaped as the body sent them (%s)', async (_path, type) => {
    const { app, rawLogLines } = buildTestApp();
    const escaped = String.raw`R\u2028x\u0085y\u007F`;
    const body = JSON.stringify(alertWith({ rule: 'placeholder' })).replace('placeholder', escaped);

    const res = await post(app, body, type);
    expect(res.status).toBe(202);

    const line = rawLogLines.find((l) => l.includes('"event":"falco_alert"'))!;
    expect(line).not.toMatch(RAW_LINE_BREAKERS);
    expect(line).toContain(`"rule":"${escaped}"`);
    expect((JSON.parse(line) as { alert: { rule: string } }).alert.rule).toBe('R\u2028x\u0085y\u007f');
    expectEveryPieceParses(rawLogLines);
    // The stored text keeps the body's escapes too.
    const stored = await request(app).get(res.headers['location']!);
    expect(stored.text).toContain(`"rule":"${escaped}"`);
  });

  it.each(PATHS)('escapes them in the pointer of a refusal line (%s)', async (_path, type) => {
    const { app, rawLogLines, logLines } = buildTestApp();
    const res = await post(app, '{"output_fields":{"a\u2028b\u0085":{}}}', type);
    expect(res.status).toBe(400);

    const line = rawLogLines.find((l) => l.includes('"event":"alert_rejected"'))!;
    expect(line).not.toMatch(RAW_LINE_BREAKERS);
    expect(line).toContain(String.raw`"pointer":"/output_fields/a\u2028b\u0085"`);
    const refusal = logLines.find((l) => l['event'] === 'alert_rejected') as {
      errors: { pointer: string }[];
    };
    expect(refusal.errors.map((error) => error.pointer)).toContain('/output_fields/a\u2028b\u0085');
    expectEveryPieceParses(rawLogLines);
  });

  it('writes them as U+FFFD in /metrics labels', async () => {
    const { app } = buildTestApp();
    const alert = alertWith({ rule: `${RULE}\u2029\u0085\u0080`, hostname: 'node\u2028\u009f1' });
    expect((await post(app, JSON.stringify(alert), 'application/json')).status).toBe(202);

    const metrics = await request(app).get('/metrics');
    expect(metrics.text).not.toMatch(RAW_LINE_BREAKERS);
    expect(metrics.text).toContain('falco_alerts_total{rule="R\uFFFDINJ\uFFFD31m\uFFFD\uFFFD\uFFFD\uFFFD"');
    expect(metrics.text).toContain('falco_sensor_last_alert_timestamp_seconds{hostname="node\uFFFD\uFFFD1"}');
  });

  // Regression: a pretty-printed body was stored as received, and every read of it joined its lines
  // again (one match per line break): a list of four alerts of 890,000 line breaks each (1.75 MiB,
  // valid JSON) held the loop 470-980 ms, against 113-380 ms for the same alerts on one line.
  it('lists pretty-printed alerts of 890,000 line breaks as cheaply as the same alerts on one line', async () => {
    const alert = (index: number, gap: string) =>
      `{"rule":"Pretty ${index}","priority":"Notice","time":"2026-06-15T09:31:44Z","output":"o"${gap.repeat(890 * 1024)}}`;
    // A receiver holding four alerts separated by `gap`: the loop time of a list of them.
    const served = async (gap: string) => {
      const { app } = buildTestApp({ logLevel: 'warn' });
      for (let index = 0; index < 4; index++)
        expect((await post(app, alert(index, gap), 'application/json')).status).toBe(202);
      const base = await serveForTest(app);
      return () =>
        measureLoopStall(async () => {
          const res = await fetch(`${base}/alerts?format=ndjson&limit=4`);
          const chunks: Uint8Array[] = [];
          for await (const chunk of res.body!) chunks.push(chunk as Uint8Array);
          return Buffer.concat(chunks).toString('latin1').split('\n').filter(Boolean);
        });
    };
    const listPretty = await served('\n ');
    const listOneLine = await served('  ');
    const pretty: number[] = [];
    const oneLine: number[] = [];
    let prettyLines: string[] = [];
    // The best of three of each, taken in turns, so a busy machine slows both alike.
    for (let round = 0; round < 3; round++) {
      oneLine.push((await listOneLine()).heldMs);
      const read = await listPretty();
      pretty.push(read.heldMs);
      prettyLines = read.value;
    }

    expect(prettyLines).toHaveLength(4);
    expect(Math.min(...pretty)).toBeLessThan(Math.min(...oneLine) * 2 + 50);
  }, 120_000);
});
