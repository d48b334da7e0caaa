import { truncateSync } from 'node:fs';
import type { LoadResult } from './load-process.js';
import { peakRssBytes, sampleTree } from './proc-stats.js';
import type { MemoryRun, Report } from './report.js';
import { runLoad } from './run-load.js';
import { scrape, sumMetric } from './scrape-metrics.js';
import { startService } from './targets.js';

/** Where and how the memory run and cold starts run. */
export interface RunSettings {
  logFile: string;
  connections: number;
  serverCpu: number;
  loadCpu: number;
}

/** Spawns the service 5 times until /readyz answers; fastest first. */
export async function measureColdStarts(settings: RunSettings): Promise<Report['coldStarts']> {
  const times: Report['coldStarts'] = [];
  for (let i = 0; i < 5; i++) {
    const target = await startService({ name: 'cold', workers: 1, logFile: settings.logFile });
    times.push({ seconds: target.startSeconds, cpuSeconds: target.startCpuSeconds });
    await target.stop();
  }
  return times.sort((a, b) => a.seconds - b.seconds);
}

/** A target's memory over a load: RSS samples along the way (MiB), RSS 1 s after it, and the peak. */
export interface RssWatch<T = LoadResult> {
  result: T;
  rssSamples: number[];
  rssMb: number;
  peakRssMb: number;
}

/**
 * Runs `load` while sampling the RSS of the process tree `pid` every `everyMs` (then calls
 * `eachSample`, if given); RSS 1 s after the load, once what it left has settled, and the peak.
 */
export async function watchRss<T = LoadResult>(
  pid: number,
  everyMs: number,
  load: () => Promise<T>,
  eachSample?: () => void,
): Promise<RssWatch<T>> {
  const rssSamples: number[] = [];
  const sampler = setInterval(() => {
    rssSamples.push(Math.round(sampleTree(pid).rssBytes / 2 ** 20));
    eachSample?.();
  }, everyMs);
  const result = await load().finally(() => clearInterval(sampler));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const rssMb = sampleTree(pid).rssBytes / 2 ** 20;
  return { result, rssSamples, rssMb, peakRssMb: peakRssBytes(pid) / 2 ** 20 };
}

/** Sends `alerts` alerts whose rule name cycles over `distinctRules` names; RSS during and after. */
export async function measureMemory(
  settings: RunSettings,
  run: { templateFile: string; nodeOptions: string; alerts: number; distinctRules: number },
): Promise<MemoryRun> {
  const env: Record<string, string> = { NODE_OPTIONS: run.nodeOptions };
  const { logFile, serverCpu: cpu } = settings;
  const target = await startService({ name: 'memory', workers: 1, logFile, cpu, env });
  const started = Date.now();
  // RSS along the way shows whether it plateaus (bounded) or keeps climbing (a leak).
  const { result, rssSamples, rssMb, peakRssMb } = await watchRss(target.pid, 5000, () =>
    runLoad(
      {
        url: `${target.url}/alerts`,
        bodyFile: run.templateFile,
        connections: settings.connections,
        newConnectionPerRequest: false,
        amount: run.alerts,
        distinctRules: run.distinctRules,
      },
      settings.loadCpu,
    ),
  );
  const metrics = await scrape(target.url);
  await target.stop();
  // A million lines is over a GB; the file may be in memory (tmpfs).
  truncateSync(logFile);
  return {
    nodeOptions: run.nodeOptions,
    requested: run.alerts,
    distinctRules: run.distinctRules,
    rssSamples,
    heapUsedMb: sumMetric(metrics, 'nodejs_heap_size_used_bytes').sum / 2 ** 20,
    alerts: result.ok2xx,
    failed: result.non2xx + result.errors,
    seconds: (Date.now() - started) / 1000,
    rssMb,
    peakRssMb,
    ruleSeries: sumMetric(metrics, 'falco_alerts_total').series,
    overflowed: sumMetric(metrics, 'falco_metrics_label_overflow_total').sum,
  };
}
