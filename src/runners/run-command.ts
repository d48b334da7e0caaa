import { capOutput, type CommandResult } from './command-result.js';

export interface RunCommandOptions {
  timeoutMs: number;
  /** Aborting kills the process (shutdown, or a run given up). */
  signal?: AbortSignal;
  /** Characters of output kept (the tail). */
  maxOutputChars: number;
  /** The only environment the child sees: no secrets of ours leak into helm/kubectl/docker. */
  env: Record<string, string>;
  /** Also copy the output to ours while it runs (the deploy CLI shows rollout progress). */
  echo?: boolean;
  /** Also return stdout alone, uncapped (up to the 4 MiB buffer): output a caller parses. */
  keepStdout?: boolean;
}

const MAX_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * Environment variables a child may inherit when set: PATH to find tools, HOME/KUBECONFIG/HELM_* for
 * their config, KUBERNETES_SERVICE_* for helm/kubectl's in-cluster config, DOCKER_HOST for docker.
 */
export const CHILD_ENV_ALLOW_LIST = [
  'PATH',
  'HOME',
  'KUBECONFIG',
  'KUBERNETES_SERVICE_HOST',
  'KUBERNETES_SERVICE_PORT',
  'DOCKER_HOST',
  'HELM_CACHE_HOME',
  'HELM_CONFIG_HOME',
  'HELM_DATA_HOME',
  // Where helm finds plugins (the triggers image's post-renderer).
  'HELM_PLUGINS',
];

/** Picks the allow-listed variables out of an environment. */
export function pickChildEnv(
  source: Record<string, string | undefined>,
  names = CHILD_ENV_ALLOW_LIST,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of names) {
    const value = source[name];
    if (value !== undefined && value !== '') env[name] = value;
  }
  return env;
}

// The tool's own error line (helm, kubectl and docker print "Error..." near the end, sometimes
// followed by a usage hint) makes the reason actionable; else the last line.
function errorLine(output: string): string {
  const lines = output
    .trim()
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const line = lines.findLast((item) => /^(error|.*: error)/i.test(item)) ?? lines.at(-1) ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

type FailureFacts = {
  timedOut: boolean;
  isCanceled: boolean;
  isMaxBuffer: boolean;
  exitCode?: number;
  output: string;
  code?: string;
  signal?: string;
};

function classifyFailure(result: FailureFacts): NonNullable<CommandResult['failure']> {
  if (result.code === 'ENOENT') return 'not-found';
  if (result.code === 'EACCES') return 'not-executable';
  if (result.timedOut) return 'timeout';
  if (result.isCanceled) return 'cancelled';
  if (result.isMaxBuffer) return 'output-limit';
  return result.exitCode !== undefined ? 'exit' : 'signal';
}

/** How a command ended, for the failures that no exit code, time limit or signal name tells. */
export const FAILURE_ENDINGS = {
  'not-executable': 'is not executable',
  cancelled: 'was cancelled',
  'output-limit': 'printed more output than allowed and was stopped',
} as const;

function describeFailure(result: FailureFacts, tool: string, timeoutMs: number): string {
  const failure = classifyFailure(result);
  switch (failure) {
    case 'not-found':
      return `${tool} is not installed or not on PATH`;
    case 'timeout':
      return `${tool} timed out after ${timeoutMs} ms`;
    case 'not-executable':
    case 'cancelled':
    case 'output-limit':
      return `${tool} ${FAILURE_ENDINGS[failure]}`;
    case 'exit': {
      const last = errorLine(result.output);
      return `${tool} exited with code ${result.exitCode}${last ? `: ${last}` : ''}`;
    }
    default:
      return `${tool} was killed by ${result.signal ?? 'a signal'}`;
  }
}

/** The result of a command that was never spawned. */
function notStarted(argv: readonly string[], failure: 'empty' | 'cancelled', reason: string): CommandResult {
  return {
    argv: [...argv],
    exitCode: null,
    durationMs: 0,
    timedOut: false,
    failed: true,
    reason,
    failure,
    output: '',
  };
}

/**
 * The one place that spawns processes: an argv array (never a shell), a timeout, a cancel signal,
 * an output cap and an explicit environment. Never throws; failures come back in the result.
 */
export async function runCommand(
  argv: readonly string[],
  options: RunCommandOptions,
): Promise<CommandResult> {
  const [file, ...args] = argv;
  const started = performance.now();
  if (file === undefined) return notStarted([], 'empty', 'empty command');
  // Loaded on first use: execa costs ~0.1 s of start-up that a receiver without triggers never needs.
  const { execa } = await import('execa');
  // Cancelled before it started (a shutdown while the run waited): nothing is spawned.
  if (options.signal?.aborted) {
    const cancelled = { timedOut: false, isCanceled: true, isMaxBuffer: false, output: '' };
    return notStarted(argv, 'cancelled', describeFailure(cancelled, file, options.timeoutMs));
  }
  // execa kills the child when its cancel signal fires. Node's ChildProcess.kill() on a child whose
  // spawn failed (no pid yet, its 'error' not yet emitted) is kill(0, SIGTERM): it would signal this
  // process's whole process group, the receiver and everything it runs beside. So execa hears of a
  // cancel only for a child that has a pid; a child that never started has nothing to stop.
  const cancel = new AbortController();
  const subprocess = execa(file, args, {
    reject: false,
    shell: false,
    timeout: options.timeoutMs,
    cancelSignal: cancel.signal,
    forceKillAfterDelay: 2_000,
    env: options.env,
    extendEnv: false,
    stdin: 'ignore',
    ...(options.echo ? { stdout: ['pipe', 'inherit'] as const, stderr: ['pipe', 'inherit'] as const } : {}),
    all: true,
    stripFinalNewline: true,
    // Bounds memory when a tool floods its output; the reported output is the capped tail.
    maxBuffer: { stdout: MAX_BUFFER_BYTES, stderr: MAX_BUFFER_BYTES },
  });
  const forwardCancel = () => {
    if (subprocess.pid !== undefined) cancel.abort();
  };
  options.signal?.addEventListener('abort', forwardCancel, { once: true });
  const result = await subprocess.finally(() => options.signal?.removeEventListener('abort', forwardCancel));
  const durationMs = Math.round(performance.now() - started);
  // Asked to keep stdout, the caller takes it as data (rendered manifests, Secrets included): the
  // output that failures are told from, and that callers print, is stderr alone.
  const told = options.keepStdout ? result.stderr : result.all;
  const output = capOutput(typeof told === 'string' ? told : '', options.maxOutputChars);
  const base = {
    argv: [...argv],
    exitCode: result.exitCode ?? null,
    durationMs,
    timedOut: result.timedOut,
    output,
  };
  if (!result.failed) {
    return { ...base, failed: false, ...(options.keepStdout ? { stdout: String(result.stdout ?? '') } : {}) };
  }
  const code = (result.cause as { code?: string } | undefined)?.code;
  const facts = { ...result, code, output };
  return {
    ...base,
    failed: true,
    reason: describeFailure(facts, file, options.timeoutMs),
    failure: classifyFailure(facts),
  };
}
