import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { parseFalcoAlert } from '../src/alerts/parse-falco-alert.js';
import { parseJson, parseJsonStrict } from '../src/alerts/parse-json.js';
import { createLogger, streamOf, writeRawJsonLine } from '../src/logging/create-logger.js';
import { createLineGroup } from '../src/logging/line-group.js';
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
