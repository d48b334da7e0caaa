import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageOnlyAlert } from '../helpers/fixtures.js';
import { startReceiver, type TestReceiver } from '../helpers/start-receiver.js';

const ALERT = readFileSync(
  join(import.meta.dirname, '../fixtures/falco/samples/valid/093-latest-terminal-shell-in-container.json'),
  'utf8',
);

describe('deduplication of Falco re-sends (DEDUP_WINDOW_MS)', () => {
  let receiver: TestReceiver;
  const post = async (body: string) => {
    const response = await fetch(`http://127.0.0.1:${receiver.port}/alerts`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    return { status: response.status, id: response.headers.get('x-alert-id') };
  };
  const alertLines = () => receiver.logLines.filter((line) => line.event === 'falco_alert');
  const duplicates = async () =>
    Number(/falco_alerts_duplicate_total (\d+)/.exec(await receiver.metricsText())?.[1]);

  beforeAll(async () => {
    receiver = await startReceiver({ dedupWindowMs: 60_000 });
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it('answers an exact re-send 202 with the first id, logs it once and counts the duplicate', async () => {
    const first = await post(ALERT);
    const again = await post(ALERT);

    expect(first.status).toBe(202);
    expect(again).toEqual({ status: 202, id: first.id });
    expect(alertLines().filter((line) => line.alertId === first.id)).toHaveLength(1);
    expect(await duplicates()).toBe(1);
  });

  it('keeps an alert that differs only in its time', async () => {
    const later = ALERT.replace(
      '"time":"2026-06-15T09:31:44.611094417Z"',
      '"time":"2026-06-15T09:31:44.611094418Z"',
    );
    const response = await post(later);

    expect(response.status).toBe(202);
    expect(alertLines().some((line) => line.alertId === response.id)).toBe(true);
    expect(await duplicates()).toBe(1);
  });

  it('keeps an alert that differs only in its hostname', async () => {
    const other = ALERT.replace('"hostname":"ip-10-0-1-23.ec2.internal"', '"hostname":"node-b"');
    const response = await post(other);

    expect(alertLines().some((line) => line.alertId === response.id)).toBe(true);
    expect(await duplicates()).toBe(1);
  });

  // Falco 0.39+ with json_include_output_property: false sends `message` (and 0.41+ may leave out
  // `output_fields`): two events of one rule in one millisecond differ in nothing else.
  it('keeps two alerts without output that differ only in their message', async () => {
    const alice = await post(messageOnlyAlert('user=alice did X'));
    const bob = await post(messageOnlyAlert('user=bob did Y'));

    expect(bob.id).not.toBe(alice.id);
    expect(alertLines().filter((line) => line.alertId === bob.id)).toHaveLength(1);
    expect(await duplicates()).toBe(1);
    const stored = (await (await fetch(`http://127.0.0.1:${receiver.port}/alerts/${bob.id}`)).json()) as {
      alert: { message: string };
    };
    expect(stored.alert.message).toBe('user=bob did Y');
  });
});
