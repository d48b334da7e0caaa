import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildFalcoArgs, falcoEnv, type FalcoOutput, type FalcoRuntime } from './falco-runtime.js';

/** Falco's log of each e2e run is kept here (git-ignored), beside the test output. */
export const E2E_LOG_DIR = join(import.meta.dirname, '../../.cache/e2e-logs');

/** What Falco printed at shutdown: its alert total and per-rule counts. */
export interface FalcoSummary {
  eventsDetected: number;
  byRule: Record<string, number>;
}

/** A running Falco; its stdout and stderr go to `logFile`. */
export interface RunningFalco {
  pid: number;
  logFile: string;
  log(): string;
  /** True once the process is gone (it stopped, or failed after opening its probe). */
  exited(): boolean;
  /** SIGTERM to its PID (SIGKILL after 20 s); resolves with the summary it printed. */
  stop(): Promise<FalcoSummary>;
}

// Every Falco started here: killed by PID when the worker exits, even after a failed test.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/**
 * Throws with the end of Falco's log once its process is gone. Falco says it opens its probe
 * before the kernel has loaded it: a probe the kernel refuses ends the process after that line.
 */
export function assertFalcoRunning(falco: RunningFalco): void {
  if (falco.exited()) throw new Error(`Falco exited (${falco.logFile}):\n${falco.log().slice(-2000)}`);
}

/** Parses the summary Falco prints on exit ("Events detected: N", "Triggered rules by rule name:"). */
export function parseFalcoSummary(log: string): FalcoSummary {
  const eventsDetected = Number(/^Events detected: (\d+)$/m.exec(log)?.[1] ?? Number.NaN);
  const byRule: Record<string, number> = {};
  const section = log.split(/^Triggered rules by rule name:$/m)[1] ?? '';
  // The section starts after its header line's newline.
  for (const line of section.split('\n').slice(1)) {
    const match = /^ {3}(.+): (\d+)$/.exec(line);
    if (!match) break;
    byRule[match[1]!] = Number(match[2]);
  }
  return { eventsDetected, byRule };
}

/** http_output failures Falco logged: 0.34 "libcurl error: ...", 0.40 "libcurl failed to perform call: ...". */
export function findOutputErrors(log: string): string[] {
  return log.split('\n').filter((line) => /libcurl (error|failed)|http_output.*(error|fail)/i.test(line));
}

/** Starts Falco as root, logging to `.cache/e2e-logs/<name>.log`; resolves once it opened the probe. */
export async function startFalco(
  runtime: FalcoRuntime,
  output: FalcoOutput,
  name: string,
): Promise<RunningFalco> {
  mkdirSync(E2E_LOG_DIR, { recursive: true });
  const logFile = join(E2E_LOG_DIR, `${name}-falco-${runtime.version}.log`);
  const fd = openSync(logFile, 'w');
  // stdbuf (coreutils) execs Falco with line-buffered stdout, so each alert is in the log at once
  // (a file would otherwise get them in 4 KiB blocks); the PID stays Falco's. stdbuf adds its own
  // library to the LD_PRELOAD it is given.
  const argv = ['-oL', '-eL', runtime.bin, ...buildFalcoArgs(runtime, output)];
  const env = { ...process.env, ...falcoEnv(runtime) };
  const child = spawn('stdbuf', argv, { stdio: ['ignore', fd, fd], env });
  closeSync(fd);
  running.add(child);
  const log = () => readFileSync(logFile, 'utf8');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  const stop = async () => {
    if (!hasExited()) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    running.delete(child);
    return parseFalcoSummary(log());
  };
  const deadline = Date.now() + 60_000;
  // 0.34 "Opening capture with modern BPF probe", 0.40 "Opening 'syscall' source with modern BPF probe".
  while (!/Opening .*modern BPF probe/.test(log())) {
    if (hasExited() || Date.now() > deadline) {
      await stop();
      throw new Error(`Falco ${runtime.version} did not start (${logFile}):\n${log().slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { pid: child.pid!, logFile, log, exited: hasExited, stop };
}
