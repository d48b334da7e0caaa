import { truncateSync, writeFileSync } from 'node:fs';
import { watchRss, type RunSettings, type RssWatch } from './memory-and-start.js';
import { runLoad } from './run-load.js';
import { startService } from './targets.js';

/** One round: a fresh service offered alerts at an even rate, and its memory. */
export interface RssRound extends RssWatch {
  offered: number;
}

// The first seconds are the client's start and the start of its warm-up (bench/paced-load.ts: 3 s or
// 12,000 alerts), while the service's RSS climbs from its idle ~80 MB: the range is read from then on.
const SETTLED_SAMPLES = 5;

/**
 * A fresh service as the image runs it (bench/targets.ts), `body` at an even `rate` for `seconds`
 * after the client's warm-up (bench/paced-load.ts), RSS every second; the log file is emptied at
 * each sample, as at 3,600 25 KB alerts a second a minute of lines is over 5 GB of tmpfs.
 */
export async function measureRssUnderLoad(
  settings: RunSettings,
  run: { bodyFile: string; rate: number; seconds: number },
): Promise<RssRound> {
  const { logFile, serverCpu: cpu } = settings;
  writeFileSync(logFile, '');
  const target = await startService({ name: 'service', workers: 1, logFile, cpu });
  try {
    const spec = {
      url: `${target.url}/alerts`,
      bodyFile: run.bodyFile,
      connections: settings.connections,
      newConnectionPerRequest: false,
      durationSeconds: run.seconds,
      overallRate: run.rate,
      paced: true,
    };
    const watch = await watchRss(
      target.pid,
      1000,
      () => runLoad(spec, settings.loadCpu),
      () => truncateSync(logFile),
    );
    return { offered: run.rate, ...watch };
  } finally {
    await target.stop();
  }
}

const count = (value: number) => Math.round(value).toLocaleString('en-US');

/** The rounds as the Markdown table of BENCHMARKS.md's session 54. */
export function renderRssUnderLoad(rounds: RssRound[]): string {
  const lines = [
    `| offered | taken | RSS, 1 s samples from ${SETTLED_SAMPLES} s on | RSS 1 s after | peak (\`VmHWM\`) |`,
    '| ------- | ----- | ---------------------------- | ------------- | -------------- |',
  ];
  for (const round of rounds) {
    const settled = round.rssSamples.slice(SETTLED_SAMPLES);
    const range = settled.length > 0 ? `${Math.min(...settled)}-${Math.max(...settled)} MB` : 'n/a';
    lines.push(
      `| ${count(round.offered)}/s | ${count(round.result.alertsPerSecond)}/s | ${range} | ` +
        `${count(round.rssMb)} MB | ${count(round.peakRssMb)} MB |`,
    );
  }
  return lines.join('\n');
}
