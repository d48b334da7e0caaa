import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { findFreePort } from './free-port.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '../../..');

/** The real service (src/main.ts) running as its own process on 127.0.0.1. */
export interface ServiceProcess {
  baseUrl: string;
  port: number;
  stop(): Promise<void>;
}

async function waitForHealthy(baseUrl: string, child: ResultPromise, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`service exited early with code ${child.exitCode}`);
    try {
      const response = await fetch(`${baseUrl}/healthz`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`service not healthy on ${baseUrl} after ${timeoutMs} ms`);
}

/** Starts `src/main.ts` through tsx with an explicit environment and waits for /healthz. */
export async function startServiceProcess(env: Record<string, string> = {}): Promise<ServiceProcess> {
  const port = await findFreePort();
  const child = execa(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: REPO_ROOT,
    extendEnv: false,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', ...env },
    reject: false,
    timeout: 10 * 60_000,
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitForHealthy(baseUrl, child, 30_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    baseUrl,
    port,
    async stop() {
      child.kill('SIGTERM');
      await child;
    },
  };
}
