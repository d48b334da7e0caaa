import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, writeRawJsonLine } from '../../src/logging/create-logger.js';
import { RAW_LINE_BREAKERS } from '../helpers/line-breakers.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'info', destination }) };
}

describe('writeRawJsonLine', () => {
  it("writes pino's own line layout, with the raw JSON copied digit for digit", () => {
    const { lines, logger } = capture();
    const raw = '{"rule":"r","output_fields":{"evt.time":1781515904611094417,"q":"a\\"b"}}';
    const fields = {
      event: 'falco_alert',
      alertId: 'id-1',
      odd: 'quote " and \\ and \u2028',
      skipped: undefined,
    };
    const before = Date.now();
    writeRawJsonLine(logger, fields, 'alert', raw, 'falco alert', {
      write: (line) => lines.push(line.trimEnd()),
    });
    logger.info(
      { event: 'falco_alert', alertId: 'id-1', odd: fields.odd, alert: { rule: 'r' } },
      'falco alert',
    );
    const [copied, pinos] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(Object.keys(copied!)).toEqual(Object.keys(pinos!));
    expect(copied).toMatchObject({
      level: 'info',
      service: 'falco-alert-receiver',
      odd: fields.odd,
      msg: 'falco alert',
    });
    expect(lines[0]).toContain('"evt.time":1781515904611094417');
    expect(lines[0]).not.toContain('skipped');
    const time = Date.parse(copied!['time'] as string);
    expect(copied!['time']).toBe(new Date(time).toISOString());
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(Date.now());
  });

  // Regression (security review): pino's JSON and the copied alert text left U+2028, U+2029, DEL
  // and C1 controls raw, and a refusal's error pointer carried them into its line.
  it("escapes DEL, C1 controls, U+2028 and U+2029 in pino's lines, a child's, and a copied line", () => {
    const { lines, logger } = capture();
    const value = 'a\u2028b\u0085c\u009b31m\u007f\u2029';
    logger.warn({ event: 'alert_rejected', errors: [{ pointer: `/output_fields/${value}` }] }, value);
    logger.child({ reqId: value }).info({ value });
    writeRawJsonLine(logger, { value }, 'alert', JSON.stringify({ rule: value }), 'falco alert');

    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).not.toMatch(RAW_LINE_BREAKERS);
    const [refusal, child, copied] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(refusal).toMatchObject({ msg: value, errors: [{ pointer: `/output_fields/${value}` }] });
    expect(child).toMatchObject({ reqId: value, value });
    expect(copied).toMatchObject({ value, alert: { rule: value } });
  });
});
