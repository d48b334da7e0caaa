import { Writable } from 'node:stream';
import type { KubeConfig, V1Status } from '@kubernetes/client-node';
import { loadKubeClient } from './kube-client.js';
import { capOutput, type CommandResult } from './command-result.js';
import { describeApiError } from './kube-step.js';

export interface PodTarget {
  namespace: string;
  pod: string;
  /** The trigger always names one (allow-listed); empty would be the pod's default container. */
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

// What the exec socket is made of: the library's handler (not exported by its index; the version is
// pinned) and its websocket package, loaded on first use as the library is.
const loadExecSocket = async () => {
  const [{ WebSocketHandler }, { WebSocket }] = await Promise.all([
    import('@kubernetes/client-node/dist/web-socket-handler.js'),
    import('ws'),
  ]);
  return { WebSocketHandler, WebSocket };
};

/**
 * Runs `command` in a pod through the exec API with tty=true. kubectl exec -t drops the TTY when our
 * stdin is no terminal, and Falco's "Terminal shell in container" needs proc.tty != 0. `timeoutMs`
 * bounds the whole exec, the websocket's opening included (an API server or kubelet that never
 * answers the upgrade held the run, and its slot, for good); `signal` (shutdown) ends it at once.
 */
export async function execInPod(
  kubeConfig: KubeConfig,
  target: PodTarget,
  command: readonly string[],
  options: { timeoutMs: number; maxOutputChars: number; signal?: AbortSignal },
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
  const [{ Exec }, { WebSocketHandler, WebSocket }] = await Promise.all([loadKubeClient(), loadExecSocket()]);
  // The socket is ours from its creation, so a deadline or cancel can end it while it still opens.
  let socket: InstanceType<typeof WebSocket> | undefined;
  let ended: 'timeout' | 'cancelled' | undefined;
  const end = (why: 'timeout' | 'cancelled') => {
    ended ??= why;
    socket?.terminate();
  };
  const timer = setTimeout(() => end('timeout'), options.timeoutMs);
  const cancel = () => end('cancelled');
  if (options.signal?.aborted) cancel();
  options.signal?.addEventListener('abort', cancel, { once: true });
  const handler = new WebSocketHandler(kubeConfig, (uri, protocols, opts) => {
    socket = new WebSocket(uri, protocols, opts);
    // Given up before the socket was made: it closes before it opens.
    if (ended) socket.terminate();
    return socket;
  });
  let failure: unknown;
  try {
    const ws = await new Exec(kubeConfig, handler).exec(
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
    if (ws.readyState !== WebSocket.CLOSED) await new Promise((resolve) => ws.once('close', resolve));
  } catch (error) {
    failure = error;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', cancel);
  }
  if (ended === 'timeout')
    return finish({
      failed: true,
      timedOut: true,
      failure: 'timeout',
      reason: `exec timed out after ${options.timeoutMs} ms`,
    });
  if (ended === 'cancelled') return finish({ failed: true, failure: 'cancelled', reason: 'exec cancelled' });
  if (failure !== undefined)
    return finish({ failed: true, reason: `exec failed: ${describeApiError(failure)}` });
  if (!status) return finish({ failed: true, reason: 'exec ended without a status from the API server' });
  const exitCode = exitCodeOf(status);
  if (exitCode === 0) return finish({ failed: false, exitCode });
  return finish({
    failed: true,
    exitCode,
    reason: `the command exited with code ${exitCode}${status.message ? ` (${status.message})` : ''}`,
  });
}
