import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The service as a real child process (src/main.ts through tsx), with its stdout lines collected. */
export interface ServiceProcess {
  child: ChildProcess;
  port: number;
  stdoutLines: string[];
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts src/main.ts with PORT=0 and resolves once it logs the port it listens on. */
export async function startServiceProcess(env: Record<string, string> = {}): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdoutLines: string[] = [];
  let stderr = '';
  let pending = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        stdoutLines.push(line);
        const match = /"event":"listening".*"port":(\d+)/.exec(line);
        if (match) resolve(Number(match[1]));
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    void exited.then((code) => reject(new Error(`service exited with ${code} before listening: ${stderr}`)));
  });
  return { child, port, stdoutLines, stderr: () => stderr, exited };
}
