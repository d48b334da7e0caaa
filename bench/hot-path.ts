import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { parseFalcoAlert } from '../src/alerts/parse-falco-alert.js';
import { parseJson, parseJsonStrict } from '../src/alerts/parse-json.js';
import { createLogger, streamOf, writeRawJsonLine } from '../src/logging/create-logger.js';
import { createLineGroup } from '../src/logging/line-group.js';
import { createDeliveredEntries } from '../src/store/delivered-entries.js';
import { readStoredAlertText } from '../src/store/stored-json.js';
import { buildPayloads } from './payloads.js';

// In-process cost of each step of ingest, per payload size: steadier than HTTP numbers on a busy machine.
// CPU time, not wall time: other processes on a shared machine stretch wall time but not our CPU time.
function timeIt(fn: () => unknown, minMs = 300): number {
  for (let i = 0; i < 500; i++) fn();
  let runs = 0;
  const started = process.cpuUsage();
  let elapsedUs = 0;
  while (elapsedUs < minMs * 1000) {
    for (let i = 0; i < 100; i++) fn();
    runs += 100;
    const used = process.cpuUsage(started);
    elapsedUs = used.user + used.system;
  }
  return elapsedUs / runs;
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'falco-hot-'));
const logger = createLogger({
  level: 'info',
  destination: pino.destination({ dest: path.join(dir, 'log'), sync: true }),
});
console.log(
  '| payload | JSON.parse us | lossless-json only us | parseJson (fast path) us | parseFalcoAlert us | log line, pino us | log line, received JSON copied us | log line, received bytes, group commit us |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
// The service's own path: the received bytes copied into a line group, committed (one alert a turn).
const lines = createLineGroup(streamOf(logger));
for (const payload of buildPayloads()) {
  const parsed = parseFalcoAlert(payload.body);
  const bytes = Buffer.from(payload.body);
  if (!parsed.ok) throw new Error(parsed.detail);
  const cells = [
    timeIt(() => JSON.parse(payload.body)),
    timeIt(() => parseJsonStrict(payload.body)),
    timeIt(() => parseJson(payload.body)),
    timeIt(() => parseFalcoAlert(payload.body)),
    timeIt(() => logger.info({ event: 'falco_alert', alert: parsed.alert }, 'falco alert')),
    timeIt(() => writeRawJsonLine(logger, { event: 'falco_alert' }, 'alert', payload.body, 'falco alert')),
    timeIt(() => {
      lines.open();
      writeRawJsonLine(logger, { event: 'falco_alert' }, 'alert', bytes, 'falco alert', lines);
      lines.commit();
    }),
  ];
  console.log(`| ${payload.name} (${payload.bytes} B) | ${cells.map((c) => c.toFixed(1)).join(' | ')} |`);
}
rmSync(dir, { recursive: true, force: true });

// The shared store's check of each alert text it reads (src/store/stored-json.ts): every alert a
// list, download or replay answers with, and every one the live reader publishes, on each replica.
console.log('');
console.log('| payload | shared store read of an alert text us |');
console.log('|---|---:|');
for (const payload of buildPayloads())
  console.log(
    `| ${payload.name} (${payload.bytes} B) | ${timeIt(() => readStoredAlertText(payload.body)).toFixed(1)} |`,
  );

// The shared store's live reader records each alert it publishes (src/store/delivered-entries.ts).
// At its bound (10,000) an add once cost about 5 us, 30 times as much as at 16: the oldest entry was
// found as a Map's first key, and V8 walks over the slots of the keys deleted before it. The ratio of
// the two stays small (2 to 5: the larger record's misses of the CPU caches) while the ring holds.
const addUs = (max: number) => {
  const delivered = createDeliveredEntries(max);
  let n = 0;
  return timeIt(() => delivered.add(`1765000000000-${n}`, `alert-${n++}`));
};
const small = addUs(16);
const large = addUs(10_000);
console.log('');
console.log('| live reader record, add at bound 16 us | at bound 10,000 us | ratio |');
console.log('|---:|---:|---:|');
console.log(`| ${small.toFixed(3)} | ${large.toFixed(3)} | ${(large / small).toFixed(1)} |`);
