import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const MAIN = join(import.meta.dirname, '../../dist/main.js');

/** The built service (`node dist/main.js`) in a child process, its stdout read as JSON log lines. */
export interface SpawnedService {
  child: ChildProcess;
  port: number;
  /** Every complete log line so far, parsed. */
  lines: Array<Record<string, unknown>>;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
}

/** Starts the built service with PORT=0 and the given extra env; resolves once it logged `listening`. */
export async function spawnService(
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<SpawnedService> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  let carry = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start: ${stderr}`)), timeoutMs);
    void exited.then((code) => reject(new Error(`service exited (${code}) before listening: ${stderr}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      const parts = (carry + chunk.toString('utf8')).split('\n');
      carry = parts.pop() ?? '';
      for (const part of parts) {
        const line = JSON.parse(part) as Record<string, unknown>;
        lines.push(line);
        if (line.event === 'listening') {
          clearTimeout(timer);
          resolve(line.port as number);
        }
      }
    });
  });
  return { child, port, lines, exited };
}
