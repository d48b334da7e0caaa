/** What one command (or one Kubernetes API step) did: the same shape for success and failure. */
export interface CommandResult {
  argv: string[];
  /** Exit code, or null when the process never started or was killed. */
  exitCode: number | null;
  durationMs: number;
  timedOut: boolean;
  failed: boolean;
  /** Why it failed, in one line a user can act on (absent on success). */
  reason?: string;
  /** The kind of failure, for callers that explain it their own way (absent on success). */
  failure?:
    'not-found' | 'not-executable' | 'timeout' | 'cancelled' | 'output-limit' | 'exit' | 'signal' | 'empty';
  /** stdout and stderr interleaved, capped and trimmed; with `keepStdout`, stderr alone (stdout is data). */
  output: string;
  /** stdout alone, whole, on success when the caller asked for it (`keepStdout`). */
  stdout?: string;
}

/** Keeps the last `maxChars` characters: the end of a log says why something failed. */
export function capOutput(text: string, maxChars: number): string {
  const trimmed = text.trim();
  if (trimmed.length <= maxChars) return trimmed;
  return `…[${trimmed.length - maxChars} characters cut]\n${trimmed.slice(-maxChars)}`;
}
