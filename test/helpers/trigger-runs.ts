import type { RequestListener } from 'node:http';
import request from 'supertest';
import type { TriggerRun } from '../../src/triggers/trigger-run.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls GET /triggers/:id until `done` holds for the run (or fails after `timeoutMs`). */
export async function waitForRun(
  app: RequestListener,
  token: string,
  id: string,
  done: (run: TriggerRun) => boolean,
  timeoutMs = 30_000,
): Promise<TriggerRun> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await request(app).get(`/triggers/${id}`).set('Authorization', `Bearer ${token}`);
    const run = res.body as TriggerRun;
    if (done(run)) return run;
    if (Date.now() > deadline) throw new Error(`run ${id} did not get there: ${JSON.stringify(run)}`);
    await sleep(50);
  }
}

export const finished = (run: TriggerRun) => run.status === 'succeeded' || run.status === 'failed';

/** A Falco "Terminal shell in container" alert as Falco 0.44 would post it for a shell with this cmdline. */
export function buildTerminalShellAlert(sample: string, cmdline: string, namespace: string): string {
  const alert = JSON.parse(sample) as {
    output_fields: Record<string, unknown>;
    output: string;
    time: string;
  };
  alert.output_fields['proc.cmdline'] = cmdline;
  alert.output_fields['k8s.ns.name'] = namespace;
  alert.output = alert.output.replace('command=bash', `command=${cmdline}`);
  alert.time = new Date().toISOString();
  return JSON.stringify(alert);
}
