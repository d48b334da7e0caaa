import { Writable } from 'node:stream';
import type { KubeConfig, V1Status } from '@kubernetes/client-node';
import { loadKubeClient } from './kube-client.js';
import { capOutput, type CommandResult } from './command-result.js';
import { describeApiError } from './kube-step.js';

export interface PodTarget {
  namespace: string;
  pod: string;
  /** Empty: the pod's only (or default) container. */
  container: string;
}

function exitCodeOf(status: V1Status): number {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((item) => item.reason === 'ExitCode');
  const code = Number(cause?.message);
  return Number.isInteger(code) ? code : 1;
}

/** The argv a run shows for an exec through the API (the same thing `kubectl exec -t` would run). */
export function describeExec(target: PodTarget, command: readonly string[]): string[] {
  const container = target.container ? ['-c', target.container] : [];
  return ['k8s', 'exec', '--tty', '-n', target.namespace, target.pod, ...container, '--', ...command];
}

/**
 * Runs `command` in a pod through the exec API with tty=true. kubectl exec -t drops the TTY when our
 * stdin is no terminal, and Falco's "Terminal shell in container" needs proc.tty != 0.
 */
export async function execInPod(
  kubeConfig: KubeConfig,
  target: PodTarget,
  command: readonly string[],
  options: { timeoutMs: number; maxOutputChars: number },
): Promise<CommandResult> {
  const argv = describeExec(target, command);
  const started = performance.now();
  let output = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      // Bounded: only the tail is ever reported.
      output = (output + chunk.toString('utf8')).slice(-options.maxOutputChars * 2);
      done();
    },
  });
  let status: V1Status | undefined;
  const finish = (fields: Partial<CommandResult> & { failed: boolean }): CommandResult => ({
    argv,
    exitCode: null,
    timedOut: false,
    ...fields,
    durationMs: Math.round(performance.now() - started),
    output: capOutput(output, options.maxOutputChars),
  });
  let socket;
  try {
    const { Exec } = await loadKubeClient();
    socket = await new Exec(kubeConfig).exec(
      target.namespace,
      target.pod,
      target.container,
      [...command],
      sink,
      sink,
      null,
      true,
      (s) => {
        status = s;
      },
    );
  } catch (error) {
    return finish({ failed: true, reason: `exec failed: ${describeApiError(error)}` });
  }
  const ws = socket;
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), options.timeoutMs);
    ws.on('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  if (!closed) {
    ws.terminate();
    return finish({ failed: true, timedOut: true, reason: `exec timed out after ${options.timeoutMs} ms` });
  }
  if (!status) return finish({ failed: true, reason: 'exec ended without a status from the API server' });
  const exitCode = exitCodeOf(status);
  if (exitCode === 0) return finish({ failed: false, exitCode });
  return finish({
    failed: true,
    exitCode,
    reason: `the command exited with code ${exitCode}${status.message ? ` (${status.message})` : ''}`,
  });
}
