// npm run bench:cpus: which threads held the two cpus while requests to the service (and to bare+log)
// waited over 4 ms at an even rate, from perf's records of every context switch. Each target runs on
// cpu 1 as in `npm run bench`, the even-rate client on cpu 0; RUNS alternating 5 s runs per target
// (3), at RATE alerts/s (12,500, about half the service's 1 KB maximum), 1 KB alerts, kept alive.
// Needs perf and the right to record context switches system-wide (root here). See BENCHMARKS.md, session 31.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { attribute, parseSwitches, type SlowRequest } from './cpu-holders.js';
import { buildPayloads } from './payloads.js';
import { runLoad } from './run-load.js';
import { benchTmpDir, startBare, startService, type Target } from './targets.js';

const SERVER_CPU = 1;
const LOAD_CPU = 0;
const RATE = Number(process.env.RATE ?? 12_500);
const RUNS = Number(process.env.RUNS ?? 3);

try {
  execFileSync('perf', ['--version'], { stdio: 'ignore' });
} catch {
  console.error('perf is not installed: this report reads the context switches with it');
  process.exit(2);
}
const tmp = benchTmpDir('falco-cpus-');
const bodyFile = path.join(tmp, 'alert.json');
writeFileSync(bodyFile, buildPayloads()[0]!.body);
const targets = [
  await startBare(SERVER_CPU, 1, path.join(tmp, 'bare.log')),
  await startService({
    name: 'service',
    workers: 1,
    logFile: path.join(tmp, 'service.log'),
    cpu: SERVER_CPU,
  }),
];

const spec = (target: Target, seconds: number) => ({
  url: `${target.url}/alerts`,
  bodyFile,
  connections: 32,
  durationSeconds: seconds,
  overallRate: RATE,
  paced: true,
  newConnectionPerRequest: false,
});

/** One traced run: the client's result and its slow requests put down to the threads that held a cpu. */
async function traced(
  target: Target,
  run: number,
): Promise<{ p99Ms: number; held: Map<string, number>; slow: number }> {
  const perfFile = path.join(tmp, `${target.name}-${run}.perf`);
  const slowFile = path.join(tmp, `${target.name}-${run}.json`);
  const perf = spawn(
    'perf',
    [
      'record',
      '-q',
      '-k',
      'mono',
      '--switch-events',
      '-e',
      'dummy',
      '-C',
      `${LOAD_CPU},${SERVER_CPU}`,
      '-o',
      perfFile,
    ],
    { stdio: 'ignore' },
  );
  await new Promise((resolve) => setTimeout(resolve, 500));
  let clientPid = 0;
  const result = await runLoad(spec(target, 5), LOAD_CPU, {
    onSpawn: (pid) => (clientPid = pid),
    env: { BENCH_SLOW_FILE: slowFile },
  });
  const exited = new Promise((resolve) => perf.once('exit', resolve));
  perf.kill('SIGINT');
  await exited;
  const script = execFileSync(
    'perf',
    ['script', '-i', perfFile, '--show-switch-events', '-F', 'comm,pid,tid,cpu,time'],
    {
      maxBuffer: 1 << 30,
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  ).toString();
  const slow = JSON.parse(readFileSync(slowFile, 'utf8')) as SlowRequest[];
  const held = attribute(slow, parseSwitches(script, processName), { targetPid: target.pid, clientPid });
  return { p99Ms: result.p99Ms, held, slow: slow.length };
}

/** A running process's name (/proc/PID/comm): for the sandbox's pid 1, whose threads perf records nothing of. */
function processName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

const totals = new Map<string, { p99s: number[]; slow: number; held: Map<string, number> }>();
try {
  for (const target of targets) await runLoad(spec(target, 2), LOAD_CPU); // warm-up, not traced
  for (let run = 1; run <= RUNS; run++) {
    for (const target of targets) {
      console.error(`[cpus] ${target.name} at ${RATE}/s, run ${run}/${RUNS}`);
      const { p99Ms, held, slow } = await traced(target, run);
      const total = totals.get(target.name) ?? { p99s: [], slow: 0, held: new Map<string, number>() };
      total.p99s.push(p99Ms);
      total.slow += slow;
      for (const [who, n] of held) total.held.set(who, (total.held.get(who) ?? 0) + n);
      totals.set(target.name, total);
    }
  }
} finally {
  for (const target of targets) await target.stop();
  rmSync(tmp, { recursive: true, force: true });
}

for (const [name, { p99s, slow, held }] of totals) {
  console.log(
    `\n${name} at an even ${RATE}/s, ${RUNS} runs of 5 s: p99 ${p99s.map((p) => `${p} ms`).join(', ')}`,
  );
  console.log(
    `${slow} requests over ${process.env.BENCH_SLOW_MS ?? 4} ms; the thread that held a cpu longest in their burst:`,
  );
  console.log('\n| held a cpu | slow requests | share |\n|---|---:|---:|');
  for (const [who, n] of [...held].sort((a, b) => b[1] - a[1]))
    console.log(`| ${who} | ${n} | ${((100 * n) / Math.max(slow, 1)).toFixed(1)} % |`);
}
