import { CLIENT_FROZEN_MS, median, p99Runs, type EvenRateResult } from './even-rate.js';
import type { RatioPair } from './ingest-ratio.js';
import type { LoadResult } from './load-process.js';

/** One throughput measurement: a payload, a connection mode and a target. */
export interface Row {
  payload: string;
  bytes: number;
  newConn: boolean;
  target: string;
  result: LoadResult;
  cpuCores: number;
  /** Server CPU time per accepted alert, in microseconds. */
  cpuUsPerAlert: number;
  rssMb: number;
}

/** One memory run: many alerts over many rule names, with given NODE_OPTIONS. */
export interface MemoryRun {
  nodeOptions: string;
  requested: number;
  distinctRules: number;
  alerts: number;
  failed: number;
  seconds: number;
  rssMb: number;
  peakRssMb: number;
  /** RSS every 5 s during the run. */
  rssSamples: number[];
  heapUsedMb: number;
  ruleSeries: number;
  overflowed: number;
}

/** Everything one `npm run bench` measured. */
export interface Report {
  date: string;
  machine: string;
  node: string;
  seconds: number;
  connections: number;
  workers: number;
  loadavgBefore: number[];
  loadavgAfter: number[];
  coldStarts: Array<{ seconds: number; cpuSeconds: number }>;
  rows: Row[];
  /** Each payload's even-rate runs at half each target's keep-alive maximum (medians, and each run). */
  halfRate: Array<EvenRateResult & { payload: string }>;
  clusterMetrics: { accepted: number; scraped: number[] };
  memory: MemoryRun[];
  /** Alternating pairs of bare+log and the service on the 1 KB sample (bench/ingest-ratio.ts). */
  ingestRatio: RatioPair[];
}

const fixed = (value: number, digits = 0) => value.toFixed(digits);
const verdict = (ok: boolean) => (ok ? 'met' : '**not met**');

function throughputTable(report: Report): string[] {
  const lines = [
    '| payload | connection | target | alerts/s | x bare | p50 ms | p99 ms | CPU cores | CPU us/alert | RSS MB | non-2xx+errors |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of report.rows) {
    const bare = report.rows.find(
      (r) => r.payload === row.payload && r.newConn === row.newConn && r.target === 'bare',
    );
    const ratio = bare ? row.result.alertsPerSecond / bare.result.alertsPerSecond : NaN;
    lines.push(
      `| ${row.payload} (${row.bytes} B) | ${row.newConn ? 'new per request' : 'keep-alive'} | ${row.target} | ` +
        `${fixed(row.result.alertsPerSecond)} | ${fixed(ratio, 2)} | ${fixed(row.result.p50Ms, 1)} | ` +
        `${fixed(row.result.p99Ms, 1)} | ${fixed(row.cpuCores, 2)} | ${fixed(row.cpuUsPerAlert)} | ${fixed(row.rssMb)} | ` +
        `${row.result.non2xx + row.result.errors} |`,
    );
  }
  return lines;
}

function targetsTable(report: Report): string[] {
  const lines = ['| target | measured | verdict |', '|---|---|---|'];
  const row = (target: string, payload: string) =>
    report.rows.find((r) => !r.newConn && r.target === target && r.payload === payload);
  const keepAlive = (target: string, payload: string) => row(target, payload)?.result.alertsPerSecond ?? NaN;
  const cpuRatio = (payload: string) =>
    (row('bare', payload)?.cpuUsPerAlert ?? NaN) / (row('service', payload)?.cpuUsPerAlert ?? NaN);
  const cluster = report.rows.find((r) => r.target.startsWith('cluster'))?.target ?? 'cluster';
  const payloads = [...new Set(report.rows.map((r) => r.payload))];
  for (const payload of payloads) {
    const ratio = keepAlive('service', payload) / keepAlive('bare', payload);
    lines.push(
      `| keep-alive, one core, ${payload}: service >= 0.8 x bare | ${fixed(ratio, 2)} x (by CPU per alert: ${fixed(cpuRatio(payload), 2)} x) | ${verdict(ratio >= 0.8)} |`,
    );
  }
  const { accepted, scraped } = report.clusterMetrics;
  const correct = scraped.every((value) => value === accepted);
  const bareCluster = report.rows.find((r) => r.target.startsWith('bare x'))?.target;
  for (const payload of payloads) {
    const ratio = keepAlive(cluster, payload) / keepAlive('bare', payload);
    const ceiling = bareCluster ? keepAlive(bareCluster, payload) / keepAlive('bare', payload) : NaN;
    lines.push(
      `| all cores, ${payload}: ${cluster} >= 1.6 x one-core bare | ${fixed(ratio, 2)} x (${bareCluster ?? 'bare cluster'}: ${fixed(ceiling, 2)} x) | ${verdict(ratio >= 1.6)} |`,
    );
  }
  lines.push(
    `| aggregated metrics correct (falco_alerts_total on 4 scrapes = alerts accepted) | ${scraped.join(', ')} vs ${accepted} | ${verdict(correct)} |`,
  );
  for (const half of report.halfRate.filter((h) => h.target === 'service')) {
    lines.push(
      `| p99 < 5 ms at half max rate, ${half.payload} (${half.rate}/s, even rate, median of ${half.runs.length}) | ${fixed(half.p99Ms, 1)} ms | ${verdict(half.p99Ms < 5)} |`,
    );
  }
  for (const m of report.memory) {
    lines.push(
      `| RSS < 150 MB after ${m.alerts} alerts over ${m.distinctRules} rules, NODE_OPTIONS='${m.nodeOptions}' | ${fixed(m.rssMb)} MB (peak ${fixed(m.peakRssMb)}) | ${verdict(m.rssMb < 150)} |`,
    );
  }
  const { median, cpu } = coldStartMedians(report.coldStarts);
  lines.push(
    `| cold start to /readyz < 0.5 s (median of ${report.coldStarts.length}) | ${fixed(median, 3)} s wall, ${fixed(cpu, 3)} s CPU | ${verdict(median < 0.5)} |`,
  );
  return lines;
}

/** The run as Markdown: targets first, then every measurement. */
/** The median wall and CPU seconds of cold starts (fastest first, as measureColdStarts gives them). */
export function coldStartMedians(coldStarts: Report['coldStarts']): { median: number; cpu: number } {
  return {
    median: median(coldStarts.map((c) => c.seconds)),
    cpu: median(coldStarts.map((c) => c.cpuSeconds)),
  };
}

/** Every cold start, fastest first: `Cold starts (wall s / CPU s): ...`. */
export function coldStartsLine(coldStarts: Report['coldStarts']): string {
  return `Cold starts (wall s / CPU s): ${coldStarts.map((c) => `${fixed(c.seconds, 3)}/${fixed(c.cpuSeconds, 3)}`).join(', ')}.`;
}

export function renderReport(report: Report): string {
  const half = report.halfRate.map(
    (h) =>
      `| ${h.payload} | ${h.target} | ${h.rate} | ${fixed(h.p50Ms, 1)} | ${fixed(h.p99Ms, 1)} | ${p99Runs(h)} |`,
  );
  return [
    `Run ${report.date} on ${report.machine}, Node ${report.node}; ${report.seconds} s per measurement, ` +
      `${report.connections} connections, cluster workers ${report.workers}. ` +
      `Load average before ${report.loadavgBefore.map((v) => fixed(v, 1)).join(' ')}, after ${report.loadavgAfter.map((v) => fixed(v, 1)).join(' ')}.`,
    '',
    ...targetsTable(report),
    '',
    ...throughputTable(report),
    '',
    `| payload | target | rate /s | p50 ms (median) | p99 ms (median) | p99 ms of each alternating run (the client's longest freeze, ms), then any set aside (a round whose client froze over ${CLIENT_FROZEN_MS} ms) |`,
    '|---|---|---:|---:|---:|---|',
    ...half,
    '',
    ...report.memory.map(
      (m) =>
        `Memory run (NODE_OPTIONS='${m.nodeOptions}'): ${m.alerts} accepted (${m.failed} failed) in ${fixed(m.seconds)} s; ` +
        `RSS ${fixed(m.rssMb)} MB, peak ${fixed(m.peakRssMb)} MB, heap used ${fixed(m.heapUsedMb)} MB; RSS every 5 s: ${m.rssSamples.join(' ')}; ` +
        `falco_alerts_total series ${m.ruleSeries}, label overflows ${m.overflowed}.\n`,
    ),
    coldStartsLine(report.coldStarts),
    '',
  ].join('\n');
}
