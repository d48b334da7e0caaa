import { mkdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { measureColdStarts, measureMemory } from './memory-and-start.js';
import { renderFalcoDelivery } from './falco-delivery-report.js';
import { alternateEvenRate, halfOf, type EvenRateRun } from './even-rate.js';
import { measureFalcoDelivery } from './falco-delivery.js';
import {
  halfServiceRate,
  measureIngestRatio,
  renderIngestRatio,
  type RatioLatency,
  type RatioPair,
} from './ingest-ratio.js';
import { buildPayloads, buildRuleTemplate } from './payloads.js';
import { sampleTree, timeWait } from './proc-stats.js';
import { coldStartMedians, coldStartsLine, renderReport, type Report, type Row } from './report.js';
import { measureRedisStore, renderRedisStore } from './redis-store.js';
import { measureRssUnderLoad, renderRssUnderLoad } from './rss-under-load.js';
import { runLoad } from './run-load.js';
import { scrape, sumMetric } from './scrape-metrics.js';
import { IMAGE_NODE_OPTIONS } from '../scripts/image-node.js';
import { METRICS_REUSE_MS } from '../src/http/routes/metrics.js';
import { benchTmpDir, startBare, startService, type Target } from './targets.js';

// Bounded by design: ~5 s per measurement keeps the whole run to a few minutes.
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP_SECONDS = 1;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const MEMORY_ALERTS = Number(process.env.BENCH_MEMORY_ALERTS ?? 1_000_000);
const DISTINCT_RULES = 50_000;
// Memory runs: Node's own heap sizing, the image's NODE_OPTIONS, and a heap capped for a small container.
const MEMORY_NODE_OPTIONS = ['', IMAGE_NODE_OPTIONS, '--max-old-space-size=96 --max-semi-space-size=4'];
const WORKERS = Number(process.env.BENCH_WORKERS ?? os.availableParallelism());
// Single-core runs: server on cpu 1, load generator on cpu 0 (when taskset exists).
const SERVER_CPU = 1;
const LOAD_CPU = 0;

// The log file lives in memory (tmpfs) where there is one (benchTmpDir says why).
const tmp = benchTmpDir('falco-bench-');
const logFile = path.join(tmp, 'service.log');
// The temporary directory goes at the end unless BENCH_KEEP_LOGS asks to keep it (with the service's
// log): a 1M-alert memory run writes over a GB of log lines, in memory when it is a tmpfs.
const removeTmp = (): void => {
  if (!process.env.BENCH_KEEP_LOGS) rmSync(tmp, { recursive: true, force: true });
};
// Where the memory runs, cold starts and RSS rounds put the service, its log and the load.
const settings = { logFile, connections: CONNECTIONS, serverCpu: SERVER_CPU, loadCpu: LOAD_CPU };
// bare+log's own file: the same tmpfs, emptied with the service's.
const bareLogFile = path.join(tmp, 'bare.log');
// Alternating bare+log / service pairs per connection mode (the ingest ratio, 1 KB sample).
// Five: on this VM single pairs range 0.37-1.04 x within one run, and a median of three moved with one of them.
const RATIO_ROUNDS = Number(process.env.BENCH_RATIO_ROUNDS ?? 5);
// Even-rate (latency) runs per target, alternating the two targets: the median p99 of three.
const LATENCY_ROUNDS = Math.max(1, Math.floor(Number(process.env.BENCH_LATENCY_ROUNDS ?? 3)) || 3);
// BENCH_ONLY=rss: one round per rate (alerts/s offered) and its seconds, as BENCHMARKS.md's session 54 ran them.
const RSS_RATES = (process.env.BENCH_RSS_RATES ?? '3600,3600,3600,1000,1000').split(',').map(Number);
const RSS_SECONDS = Number(process.env.BENCH_RSS_SECONDS ?? 60);
const log = (line: string) => console.error(`[bench] ${line}`);

async function measure(
  target: Target,
  bodyFile: string,
  newConn: boolean,
  pinnedLoad: boolean,
  rate?: number,
) {
  // A target rate is a latency run: the even-rate client, not autocannon's per-second bursts.
  const paced = rate !== undefined;
  const spec = {
    url: `${target.url}/alerts`,
    bodyFile,
    connections: CONNECTIONS,
    newConnectionPerRequest: newConn,
  };
  const loadCpu = pinnedLoad ? LOAD_CPU : undefined;
  // The service appends (O_APPEND), so emptying the file keeps the tmpfs small and loses nothing measured.
  truncateSync(logFile);
  writeFileSync(bareLogFile, '');
  const warm = await runLoad({ ...spec, durationSeconds: WARMUP_SECONDS }, loadCpu);
  const before = sampleTree(target.pid);
  const started = Date.now();
  const result = await runLoad(
    { ...spec, durationSeconds: SECONDS, ...(paced ? { overallRate: rate, paced } : {}) },
    loadCpu,
  );
  const after = sampleTree(target.pid);
  const wall = (Date.now() - started) / 1000;
  const cpu = after.cpuSeconds - before.cpuSeconds;
  // The even-rate client's warm-up is inside the two samples: its alerts cost CPU too.
  const alerts = result.ok2xx + (result.warmupAnswered ?? 0);
  const cpuUsPerAlert = alerts > 0 ? (cpu / alerts) * 1e6 : NaN;
  return { result, warm, cpuCores: cpu / wall, cpuUsPerAlert, rssMb: after.rssBytes / 2 ** 20 };
}

/** An even-rate run of one target (the load pinned, as every single-core run): for alternateEvenRate. */
const paced =
  (bodyFile: string, newConn: boolean) =>
  async (target: Target, rate: number): Promise<EvenRateRun> => {
    // A connection per alert takes a local port per alert, and ports stay in TIME_WAIT for 60 s. A
    // full range was a suspect for one minute of client freezes (BENCHMARKS, session 26), but runs
    // with 35,000 TIME_WAIT sockets for 28,232 ports were calm: logged, to tell next time.
    if (newConn) {
      const { sockets, ports } = timeWait();
      log(`TIME_WAIT sockets ${sockets}, local port range ${ports}`);
    }
    const { result, cpuUsPerAlert } = await measure(target, bodyFile, newConn, true, rate);
    const clientFreezeMs = result.clientFreeze?.longestMs ?? NaN;
    return { p50Ms: result.p50Ms, p99Ms: result.p99Ms, cpuUsPerAlert, clientFreezeMs };
  };

// BENCH_ONLY=redis: only the shared-store comparison (a minute, not the whole run).
async function redisOnly(): Promise<void> {
  const payload = buildPayloads()[0]!;
  const bodyFile = path.join(tmp, `${payload.name}.json`);
  writeFileSync(bodyFile, payload.body);
  try {
    log(`redis store comparison, ${payload.name}`);
    const rows = await measureRedisStore({ logFile, bodyFile, seconds: SECONDS, connections: CONNECTIONS });
    console.log(renderRedisStore(rows));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Exact check of the cluster's metrics: a known number of alerts (amount waits for every answer),
 * over new connections so they spread over the workers; every scrape must show exactly that increase.
 */
async function checkClusterMetrics(cluster: Target, bodyFile: string): Promise<Report['clusterMetrics']> {
  const countBefore = sumMetric(await scrape(cluster.url), 'falco_alerts_total').sum;
  const check = await runLoad({
    url: `${cluster.url}/alerts`,
    bodyFile,
    connections: 8,
    newConnectionPerRequest: true,
    amount: 2000,
  });
  // A worker serves its last render again for METRICS_REUSE_MS: a scrape that soon after the one
  // before the load (2,000 alerts take a third of a second on a fast run) could be that render.
  await new Promise((resolve) => setTimeout(resolve, METRICS_REUSE_MS + 100));
  const scrapes = [];
  for (let i = 0; i < 4; i++)
    scrapes.push(sumMetric(await scrape(cluster.url), 'falco_alerts_total').sum - countBefore);
  return { accepted: check.ok2xx, scraped: scrapes };
}

async function main(): Promise<void> {
  const loadBefore = os.loadavg();
  const payloads = buildPayloads();
  const rows: Row[] = [];
  const halfRate: Report['halfRate'] = [];
  log(`payloads ${payloads.map((p) => `${p.name}=${p.bytes}B`).join(' ')}; logs in ${logFile}`);

  const cold = await measureColdStarts(settings);
  const bare = await startBare(SERVER_CPU);
  const service = await startService({ name: 'service', workers: 1, logFile, cpu: SERVER_CPU });
  let clusterMetrics: Report['clusterMetrics'] = { accepted: 0, scraped: [] };
  try {
    for (const [index, payload] of payloads.entries()) {
      const bodyFile = path.join(tmp, `${payload.name}.json`);
      writeFileSync(bodyFile, payload.body);
      // The cluster targets (bare x2: the same bare server on every core, what this machine allows
      // with the load generator on it too) run for the payload's throughput runs only. Idle, they
      // still run timers (heartbeats, metric collection) on the one-core server's cpu while the
      // even-rate client holds the other: with them up, the service's p99 at 5,700/s was 1.4 to
      // 2.2 ms in 9 runs, without them 0.9 to 1.5.
      const cluster: Target[] = [];
      try {
        const bareCluster = await startBare(undefined, WORKERS);
        cluster.push(bareCluster);
        const serviceCluster = await startService({ name: `cluster x${WORKERS}`, workers: WORKERS, logFile });
        cluster.push(serviceCluster);
        for (const newConn of [false, true]) {
          for (const target of [bare, service, bareCluster, serviceCluster]) {
            const single = target === bare || target === service;
            log(`${payload.name} ${newConn ? 'new-conn' : 'keep-alive'} ${target.name}`);
            const m = await measure(target, bodyFile, newConn, single);
            rows.push({ payload: payload.name, bytes: payload.bytes, newConn, target: target.name, ...m });
          }
        }
        if (index === 0) clusterMetrics = await checkClusterMetrics(serviceCluster, bodyFile);
      } finally {
        await Promise.all(cluster.map((target) => target.stop()));
      }
      // At half of each one-core target's keep-alive maximum, measured a minute or two before (the
      // payload's other throughput runs come between): this VM's speed changes by up to 2 x within
      // minutes, so a maximum from the start of the run could be no longer half of anything. The
      // maxima were measured with the idle cluster targets up, as every throughput row is.
      const halfRates = [bare, service].map((target) => {
        const max = rows.find((r) => r.payload === payload.name && !r.newConn && r.target === target.name);
        return { target, rate: halfOf(max?.result.alertsPerSecond ?? 2) };
      });
      const even = await alternateEvenRate(halfRates, LATENCY_ROUNDS, paced(bodyFile, false), log);
      halfRate.push(...even.map((result) => ({ payload: payload.name, ...result })));
    }
    await Promise.all([bare.stop(), service.stop()]);

    log('ingest ratio: service against bare+log, alternating');
    const { pairs: ingestRatio, latency: ratioLatency } = await ratioPairs();

    const templateFile = path.join(tmp, 'rule-template.json');
    writeFileSync(templateFile, buildRuleTemplate());
    const memory = [];
    for (const nodeOptions of MEMORY_NODE_OPTIONS) {
      log(`memory run NODE_OPTIONS='${nodeOptions}'`);
      const run = { templateFile, nodeOptions, alerts: MEMORY_ALERTS, distinctRules: DISTINCT_RULES };
      memory.push(await measureMemory(settings, run));
    }

    log('redis store comparison');
    const redisStore = await measureRedisStore({
      logFile,
      bodyFile: path.join(tmp, `${payloads[0]!.name}.json`),
      seconds: SECONDS,
      connections: CONNECTIONS,
    });

    log('real Falco delivery rates');
    const falcoDelivery = await measureFalcoDelivery({ seconds: SECONDS });

    const report: Report = {
      date: new Date().toISOString(),
      machine: `${os.cpus()[0]?.model ?? 'cpu'} x${os.availableParallelism()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.release()}`,
      node: process.version,
      seconds: SECONDS,
      connections: CONNECTIONS,
      workers: WORKERS,
      loadavgBefore: loadBefore,
      loadavgAfter: os.loadavg(),
      coldStarts: cold,
      rows,
      halfRate,
      clusterMetrics,
      memory,
      ingestRatio,
    };
    const outDir = path.join(process.cwd(), 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    writeFileSync(path.join(outDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
    const markdown = `${renderReport(report)}\n${renderIngestRatio(ingestRatio, ratioLatency)}\n${renderRedisStore(redisStore)}\n${renderFalcoDelivery(falcoDelivery)}`;
    writeFileSync(path.join(outDir, 'latest.md'), markdown);
    console.log(markdown);
  } finally {
    await Promise.all([bare.stop(), service.stop()]);
    removeTmp();
  }
}

// The ratio pairs on the first payload (the 1.3 KB "Terminal shell in container" sample), then both
// targets at an even half of the service's maximum in each connection mode (latency, CPU per alert).
async function ratioPairs(): Promise<{ pairs: RatioPair[]; latency: RatioLatency[] }> {
  const payload = buildPayloads()[0]!;
  const bodyFile = path.join(tmp, `${payload.name}.json`);
  writeFileSync(bodyFile, payload.body);
  const bareLog = await startBare(SERVER_CPU, 1, bareLogFile);
  const service = await startService({ name: 'service', workers: 1, logFile, cpu: SERVER_CPU });
  try {
    const run = (target: Target, newConn: boolean) => measure(target, bodyFile, newConn, true);
    const pairs = await measureIngestRatio({ bareLog, service }, RATIO_ROUNDS, run, log);
    const latency: RatioLatency[] = [];
    for (const newConn of [false, true]) {
      const rate = halfServiceRate(pairs, newConn);
      const targets = [bareLog, service].map((target) => ({ target, rate }));
      log(`ratio even rate ${newConn ? 'new-conn' : 'keep-alive'} at ${rate}/s`);
      const even = await alternateEvenRate(targets, LATENCY_ROUNDS, paced(bodyFile, newConn), log);
      latency.push(...even.map((result) => ({ ...result, newConn })));
    }
    return { pairs, latency };
  } finally {
    await Promise.all([bareLog.stop(), service.stop()]);
  }
}

// BENCH_ONLY=start: only the cold starts (seconds), as the whole run measures them.
async function startOnly(): Promise<void> {
  try {
    const cold = await measureColdStarts(settings);
    const { median, cpu } = coldStartMedians(cold);
    console.log(coldStartsLine(cold));
    console.log(`median ${median.toFixed(3)} s wall, ${cpu.toFixed(3)} s CPU (target < 0.5 s wall)`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// BENCH_ONLY=ratio: only the service against bare+log (a minute or two, not the whole run).
async function ratioOnly(): Promise<void> {
  log(`logs in ${logFile}`);
  try {
    const { pairs, latency } = await ratioPairs();
    console.log(renderIngestRatio(pairs, latency));
  } finally {
    removeTmp();
  }
}

// BENCH_ONLY=rss: the service's RSS under 25 KB alerts at even rates, for the pod's memory request
// (k8s/deployment.yaml); a fresh service per round. Offered more than it takes, the rest waits in the
// client (32 alerts in flight at most): a memory figure, not a speed one.
async function rssOnly(): Promise<void> {
  try {
    if (!RSS_RATES.every((rate) => rate > 0) || !(RSS_SECONDS > 0))
      throw new Error(
        'BENCH_RSS_RATES wants alerts/s > 0, comma-separated, and BENCH_RSS_SECONDS seconds > 0',
      );
    const loadBefore = os.loadavg();
    const payload = buildPayloads().find((p) => p.name === '25KB')!;
    const bodyFile = path.join(tmp, `${payload.name}.json`);
    writeFileSync(bodyFile, payload.body);
    const rounds = [];
    for (const rate of RSS_RATES) {
      log(`rss ${payload.name} (${payload.bytes} B) at ${rate}/s for ${RSS_SECONDS} s`);
      const round = await measureRssUnderLoad(settings, { bodyFile, rate, seconds: RSS_SECONDS });
      const { ok2xx, non2xx, errors, p50Ms, p99Ms } = round.result;
      log(
        `${ok2xx} 2xx, ${non2xx} non-2xx, ${errors} errors, p50 ${p50Ms} ms, p99 ${p99Ms} ms; RSS every 1 s: ${round.rssSamples.join(' ')}`,
      );
      rounds.push(round);
    }
    const load = (values: number[]) => values.map((v) => v.toFixed(1)).join(' ');
    console.log(`Load average before ${load(loadBefore)}, after ${load(os.loadavg())}.\n`);
    console.log(renderRssUnderLoad(rounds));
  } finally {
    removeTmp();
  }
}

const only = process.env.BENCH_ONLY;
const modes: Record<string, () => Promise<void>> = {
  redis: redisOnly,
  ratio: ratioOnly,
  start: startOnly,
  rss: rssOnly,
};
await (only === undefined ? main() : (modes[only] ?? main)());
