import { execa } from 'execa';

/** How a command ended. Expected failures are results, not exceptions. */
export type CommandResult =
  | { ok: true; stdout: string; stderr: string }
  | {
      ok: false;
      reason: 'missing' | 'failed' | 'timeout';
      exitCode?: number;
      stdout: string;
      stderr: string;
    };

export interface RunOptions {
  timeoutMs: number;
  /** Also copy the command's output to ours while it runs (long rollouts show progress). */
  echo?: boolean;
}

const MAX_BUFFER = 4 * 1024 * 1024;

/** Runs one argv array with a timeout; never throws for a missing binary, a failure or a timeout. */
export async function runCommand(
  command: string,
  args: string[],
  options: RunOptions,
): Promise<CommandResult> {
  const output = options.echo ? (['pipe', 'inherit'] as const) : 'pipe';
  const result = await execa(command, args, {
    reject: false,
    timeout: options.timeoutMs,
    stdin: 'ignore',
    stdout: output,
    stderr: output,
    maxBuffer: MAX_BUFFER,
    stripFinalNewline: true,
  });
  const stdout = typeof result.stdout === 'string' ? result.stdout : '';
  const stderr = typeof result.stderr === 'string' ? result.stderr : '';
  if (!result.failed) return { ok: true, stdout, stderr };
  const code = (result.cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return { ok: false, reason: 'missing', stdout, stderr };
  if (result.timedOut) return { ok: false, reason: 'timeout', stdout, stderr };
  return { ok: false, reason: 'failed', exitCode: result.exitCode, stdout, stderr };
}
