import { capOutput, type CommandResult } from './command-result.js';

/** Whether a Kubernetes API call failed because its connection was refused: it never reached the server. */
export function connectionRefused(error: unknown): boolean {
  const api = error as { message?: string; cause?: { code?: string } } | null;
  return api?.cause?.code === 'ECONNREFUSED' || (api?.message ?? '').includes('ECONNREFUSED');
}

/**
 * Whether a create call was refused for good: the server was never reached, or it answered a 4xx
 * other than 408, 409 and 429 (it made nothing). Otherwise (a timeout, a cancel, a 5xx, a reset)
 * it may have made the object before its answer was lost. A 409 says only that the name is taken,
 * maybe by the object itself (a retry after a lost answer): who made it is for the caller to read
 * (a pod's run-id label, kube-pods.ts), never to assume.
 */
export function refusedForGood(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'number') return connectionRefused(error);
  return code >= 400 && code < 500 && code !== 408 && code !== 409 && code !== 429;
}

/** Why a Kubernetes API call failed, in one line (status code and the server's message when there is one). */
export function describeApiError(error: unknown): string {
  const api = error as { code?: number; body?: unknown; message?: string } | null;
  if (connectionRefused(error)) return 'the Kubernetes API server is unreachable (connection refused)';
  if (typeof api?.code === 'number') {
    let message = '';
    try {
      const body =
        typeof api.body === 'string'
          ? (JSON.parse(api.body) as { message?: string })
          : (api.body as { message?: string });
      message = body?.message ?? '';
    } catch {
      // A non-JSON body: the status code alone still says what happened.
    }
    return `the Kubernetes API answered ${api.code}${message ? `: ${message}` : ''}`;
  }
  return `Kubernetes API call failed: ${api?.message ?? String(error)}`;
}

/** A step's own finding, already in words (not an API error to describe): reported as it is. */
export class StepFailure extends Error {}

export interface KubeStepOptions {
  maxOutputChars: number;
  /** Longest the step may take: a silent API server must not hold a run (and its slot) forever. */
  timeoutMs: number;
  /** The run's cancel signal (shutdown): the step ends at once, cancelled. */
  signal?: AbortSignal;
}

/**
 * Runs one Kubernetes API step and reports it like a command, so a run lists every step it took.
 * `argv` is a readable description (`['k8s', 'delete-pod', 'ns/name']`), never executed. The step
 * gets a signal that fires at its deadline or on cancel, to pass to its API calls; it ends then
 * even if a call ignores the signal.
 */
export async function runKubeStep(
  argv: string[],
  step: (signal: AbortSignal) => Promise<string | void>,
  options: KubeStepOptions,
): Promise<CommandResult> {
  const started = performance.now();
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  let onAbort = () => {};
  const ended = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason as Error);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  ended.catch(() => {});
  try {
    const work = step(signal);
    // A call that ignores the signal may still fail after the step ended: not an unhandled rejection.
    work.catch(() => {});
    const output = (await Promise.race([work, ended])) ?? '';
    const durationMs = Math.round(performance.now() - started);
    return {
      argv,
      exitCode: 0,
      durationMs,
      timedOut: false,
      failed: false,
      output: capOutput(output, options.maxOutputChars),
    };
  } catch (error) {
    const durationMs = Math.round(performance.now() - started);
    const timedOut = (error as { name?: string } | null)?.name === 'TimeoutError';
    const cancelled = !timedOut && options.signal?.aborted === true;
    const what = argv[1] ?? 'step';
    const reason = timedOut
      ? `${what} timed out`
      : cancelled
        ? `${what} cancelled`
        : error instanceof StepFailure
          ? error.message
          : describeApiError(error);
    const failure = timedOut ? ('timeout' as const) : cancelled ? ('cancelled' as const) : undefined;
    return {
      argv,
      exitCode: null,
      durationMs,
      timedOut,
      failed: true,
      reason,
      ...(failure && { failure }),
      output: '',
    };
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
