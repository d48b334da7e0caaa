import { rmSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { watchRss } from './memory-and-start.js';
import { buildPayload } from './payloads.js';
import { benchTmpDir, startService } from './targets.js';

// The service's RSS while 32 senders post a valid 1.75 MiB alert of DEL, each line 11 MB escaped
// (docs/hardening.md). Needs `npm run build`; SECONDS_OF_LOAD (20) seconds, RSS every second.
const seconds = Number(process.env.SECONDS_OF_LOAD ?? 20);
const SENDERS = 32;
const dir = benchTmpDir('escaped-line-rss-');
const logFile = path.join(dir, 'service.log');
const alert = JSON.parse(buildPayload('del', 1000).body) as Record<string, unknown>;
alert.output = '\u007f'.repeat(1.75 * 1024 * 1024 - 1000);
const body = JSON.stringify(alert);

const target = await startService({ name: 'service', workers: 1, logFile });
const answers: Record<number, number> = {};
const until = Date.now() + seconds * 1000;
const send = async () => {
  while (Date.now() < until) {
    const res = await fetch(`${target.url}/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    await res.arrayBuffer();
    answers[res.status] = (answers[res.status] ?? 0) + 1;
  }
};
// The log emptied every second: 11 MB a line.
const { rssSamples, peakRssMb } = await watchRss(
  target.pid,
  1000,
  () => Promise.all(Array.from({ length: SENDERS }, send)),
  () => truncateSync(logFile),
);
console.log(JSON.stringify({ answers, rssMB: rssSamples, peakMB: Math.round(peakRssMb) }));
await target.stop();
rmSync(dir, { recursive: true, force: true });
