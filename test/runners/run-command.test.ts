import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pickChildEnv, runCommand } from '../../src/runners/run-command.js';

const NODE = process.execPath;
const options = { timeoutMs: 10_000, maxOutputChars: 1_000, env: { PATH: process.env.PATH ?? '' } };

describe('runCommand', () => {
  it('returns exit code 0, the output and no failure for a command that succeeds', async () => {
    const result = await runCommand([NODE, '-e', 'console.log("hello"); console.error("warn")'], options);
    expect(result).toMatchObject({ exitCode: 0, failed: false, timedOut: false });
    expect(result.output).toContain('hello');
    expect(result.output).toContain('warn');
    expect(result.reason).toBeUndefined();
    expect(result.argv[0]).toBe(NODE);
  });

  it('reports a non-zero exit with the last line of output in the reason instead of throwing', async () => {
    const result = await runCommand(
      [NODE, '-e', 'console.error("Error: cluster unreachable"); process.exit(3)'],
      options,
    );
    expect(result).toMatchObject({ exitCode: 3, failed: true, timedOut: false });
    expect(result.reason).toMatch(/exited with code 3: Error: cluster unreachable$/);
  });

  it('reports a missing tool as not installed', async () => {
    const result = await runCommand(['helm-that-does-not-exist', 'version'], options);
    expect(result).toMatchObject({ exitCode: null, failed: true });
    expect(result.reason).toBe('helm-that-does-not-exist is not installed or not on PATH');
  });

  it('kills a command that runs past its timeout and says so', async () => {
    const result = await runCommand([NODE, '-e', 'setTimeout(() => {}, 60_000)'], {
      ...options,
      timeoutMs: 300,
    });
    expect(result).toMatchObject({ failed: true, timedOut: true });
    expect(result.reason).toContain('timed out after 300 ms');
  });

  it('stops a command when the cancel signal fires', async () => {
    const controller = new AbortController();
    const pending = runCommand([NODE, '-e', 'setTimeout(() => {}, 60_000)'], {
      ...options,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 100);
    const result = await pending;
    expect(result.failed).toBe(true);
    expect(result.reason).toContain('cancelled');
  });

  it('cancels a tool that failed to start without signalling its own process group', async () => {
    // Node's kill() on a child whose spawn failed is kill(0, SIGTERM); it once ended a CI run.
    const child = spawn(NODE, ['--import', 'tsx', 'test/fixtures/run-command-cancel.ts'], {
      detached: true,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.once('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal])),
    );
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    const failures = JSON.parse(stdout) as string[];
    expect(failures).toHaveLength(12);
    expect(failures[0]).toBe('cancelled');
    for (const failure of failures) expect(['cancelled', 'not-found']).toContain(failure);
  });

  it('spawns nothing for a run cancelled before it started, and says it was cancelled', async () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'run-command-')), 'ran');
    const controller = new AbortController();
    controller.abort();
    const result = await runCommand(
      [NODE, '-e', 'require("fs").writeFileSync(process.argv[1], "")', marker],
      {
        ...options,
        signal: controller.signal,
      },
    );
    expect(result).toMatchObject({ failed: true, failure: 'cancelled', exitCode: null, output: '' });
    expect(result.reason).toBe(`${NODE} was cancelled`);
    expect(existsSync(marker)).toBe(false);
  });

  // Kept stdout is the caller's data (npm run deploy's rendered manifests, Secrets included): a
  // failure is told, and its output kept, from stderr alone, even when stdout ends the run.
  it('tells the failure of a run that keeps stdout from its stderr alone', async () => {
    const script =
      'console.error("error: no kustomization"); setTimeout(() => { console.log("token: s3cr3t"); process.exit(1); }, 100)';
    const result = await runCommand([NODE, '-e', script], { ...options, keepStdout: true });

    expect(result).toMatchObject({ failed: true, failure: 'exit', output: 'error: no kustomization' });
    expect(result.reason).toContain('error: no kustomization');
    expect(result.reason).not.toContain('s3cr3t');
  });

  it('keeps only the tail of long output', async () => {
    const result = await runCommand([NODE, '-e', 'process.stdout.write("a".repeat(5000) + "END")'], {
      ...options,
      maxOutputChars: 100,
    });
    expect(result.output.endsWith('END')).toBe(true);
    expect(result.output.length).toBeLessThan(200);
    expect(result.output).toContain('characters cut');
  });

  it('gives the child only the environment it is handed', async () => {
    const env = { PATH: process.env.PATH ?? '', ONLY_THIS: 'yes' };
    const result = await runCommand(
      [NODE, '-e', 'console.log(JSON.stringify(Object.keys(process.env).sort()))'],
      {
        ...options,
        env,
      },
    );
    expect(JSON.parse(result.output)).toEqual(['ONLY_THIS', 'PATH']);
  });

  it('never passes a shell string: metacharacters in an argument stay literal', async () => {
    const result = await runCommand(
      [NODE, '-e', 'console.log(process.argv[1])', '$(echo pwned); rm -rf /tmp/x'],
      options,
    );
    expect(result.output).toBe('$(echo pwned); rm -rf /tmp/x');
  });
});

describe('pickChildEnv', () => {
  it('keeps allow-listed variables and drops secrets such as TRIGGER_TOKEN', () => {
    const env = pickChildEnv({ PATH: '/bin', HOME: '/root', TRIGGER_TOKEN: 'secret', KUBECONFIG: '' });
    expect(env).toEqual({ PATH: '/bin', HOME: '/root' });
  });
});
