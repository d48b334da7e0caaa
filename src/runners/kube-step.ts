import { capOutput, type CommandResult } from './command-result.js';

/** Why a Kubernetes API call failed, in one line (status code and the server's message when there is one). */
export function describeApiError(error: unknown): string {
  const api = error as { code?: number; body?: unknown; message?: string; cause?: { code?: string } } | null;
  if (api?.cause?.code === 'ECONNREFUSED' || (api?.message ?? '').includes('ECONNREFUSED')) {
    return 'the Kubernetes API server is unreachable (connection refused)';
  }
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

/**
 * Runs one Kubernetes API step and reports it like a command, so a run lists every step it took.
 * `argv` is a readable description (`['k8s', 'delete-pod', 'ns/name']`), never executed.
 */
export async function runKubeStep(
  argv: string[],
  step: () => Promise<string | void>,
  maxOutputChars: number,
): Promise<CommandResult> {
  const started = performance.now();
  try {
    const output = (await step()) ?? '';
    const durationMs = Math.round(performance.now() - started);
    return {
      argv,
      exitCode: 0,
      durationMs,
      timedOut: false,
      failed: false,
      output: capOutput(output, maxOutputChars),
    };
  } catch (error) {
    const durationMs = Math.round(performance.now() - started);
    const timedOut = (error as { name?: string } | null)?.name === 'TimeoutError';
    const reason = timedOut ? `${argv[1] ?? 'step'} timed out` : describeApiError(error);
    return { argv, exitCode: null, durationMs, timedOut, failed: true, reason, output: '' };
  }
}
