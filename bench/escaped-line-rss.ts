import { readFileSync, rmSync, truncateSync } from 'node:fs';
import path from 'node:path';
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
const statusMB = (pid: number, key: string) =>
  Math.round(
    Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024,
  );

const target = await startService({ name: 'service', workers: 1, logFile });
const answers: Record<number, number> = {};
const until = Date.now() + seconds * 1000;
const senders = Array.from({ length: SENDERS }, async () => {
  while (Date.now() < until) {
    const res = await fetch(`${target.url}/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    await res.arrayBuffer();
    answers[res.status] = (answers[res.status] ?? 0) + 1;
  }
});
const rssMB: number[] = [];
// The log emptied every second: 11 MB a line.
const sampler = setInterval(() => {
  rssMB.push(statusMB(target.pid, 'VmRSS'));
  truncateSync(logFile);
}, 1000);
await Promise.all(senders);
clearInterval(sampler);
console.log(JSON.stringify({ answers, rssMB, peakMB: statusMB(target.pid, 'VmHWM') }));
await target.stop();
rmSync(dir, { recursive: true, force: true });
