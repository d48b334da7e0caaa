import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';

/** One request the stand-in received. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  upgrade: boolean;
}

export interface KubeApiStandIn {
  url: string;
  kubeconfigPath: string;
  requests: RecordedRequest[];
  /** Phase the next GET of a pod reports. */
  podPhase: string;
  /**
   * Requests whose path matches are read and recorded but never answered (until close): helm's
   * first call, so an install stays running while the test plays the Job controller. An exec
   * upgrade that matches is held too (its websocket never opens).
   */
  hold?: RegExp;
  /** Holds only requests of this method that match `hold` (e.g. `DELETE`: a pod that cannot be deleted). */
  holdMethod?: string;
  /**
   * The status a pod create is answered with instead of 201: a 5xx after the pod is made (a webhook
   * or storage write that timed out), a 4xx without making it (forbidden, invalid).
   */
  createStatus?: number;
  /**
   * Labels of a pod that already holds the name of the next pod created (another run's, or
   * someone else's): the create is answered 409 AlreadyExists, as the API server does, and that pod stays.
   */
  takenBy?: Record<string, string>;
  /** The pods the stand-in holds now, by `namespace/name`. */
  readonly pods: ReadonlyMap<string, Record<string, unknown>>;
  /** Stops holding and answers every request held so far, as if the API server woke up. */
  releaseHeld(): void;
  /** Held requests whose client went away before an answer (a call aborted by its deadline or cancel). */
  readonly abandoned: number;
  /** Adds a pod as a controller would (e.g. the Job's pod), listed by label selector. */
  addPod(namespace: string, pod: Record<string, unknown>): void;
  close(): Promise<void>;
}

const EXEC_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/;
const POD_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods(?:\/([^/]+))?$/;
const LOG_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/;

// Equality selectors only (`a=b,c=d`), the kind the receiver sends.
function hasLabels(pod: Record<string, unknown>, selector: string | null): boolean {
  const labels = ((pod.metadata as { labels?: Record<string, string> } | undefined)?.labels ?? {}) as Record<
    string,
    string
  >;
  return (selector ?? '')
    .split(',')
    .filter(Boolean)
    .every((term) => {
      const [key, value] = term.split('=');
      return key !== undefined && labels[key] === value;
    });
}

const frame = (channel: number, text: string) => Buffer.concat([Buffer.from([channel]), Buffer.from(text)]);

// Plays the container for `sh -c 'tty && echo WORD'` (prints the terminal and WORD, only with a TTY)
// and for `sh -c 'exit N'`.
function runInFakeContainer(command: string[], tty: boolean): { output: string; exitCode: number } {
  if (!tty) return { output: 'not a tty\r\n', exitCode: 1 };
  const script = command[2] ?? '';
  const exit = /^exit (\d+)$/.exec(script);
  if (exit) return { output: '', exitCode: Number(exit[1]) };
  const word = /echo (\S+)$/.exec(script)?.[1] ?? '';
  return { output: `/dev/pts/0\r\n${word}\r\n`, exitCode: 0 };
}

/** A recording HTTP stand-in of the Kubernetes API server: pods (create/get/delete) and exec over a websocket. */
export async function startKubeApiStandIn(): Promise<KubeApiStandIn> {
  const requests: RecordedRequest[] = [];
  const pods = new Map<string, Record<string, unknown>>();
  const state: {
    podPhase: string;
    hold?: RegExp;
    holdMethod?: string;
    createStatus?: number;
    takenBy?: Record<string, string>;
    abandoned: number;
  } = {
    podPhase: 'Running',
    abandoned: 0,
  };
  const held: Array<() => void> = [];
  // Upgrade sockets are detached from the server: close() ends those still held itself.
  const heldSockets = new Set<Duplex>();
  // Answers one request as the API server would (pods, their logs, /version).
  function answer(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: unknown): void {
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    };
    const log = LOG_PATH.exec(url.pathname);
    if (log) {
      if (!pods.has(`${log[1]}/${log[2]}`)) return send(404, { kind: 'Status', code: 404 });
      const container = url.searchParams.get('container') ?? 'default';
      const tail = url.searchParams.get('tailLines') ?? 'all';
      res
        .writeHead(200, { 'content-type': 'text/plain' })
        .end(`stand-in log of ${log[2]}/${container} (tail ${tail})\n`);
      return;
    }
    const match = POD_PATH.exec(url.pathname);
    if (url.pathname === '/version') return send(200, { major: '1', minor: '32', gitVersion: 'v1.32.0' });
    if (!match) return send(404, { kind: 'Status', status: 'Failure', message: 'not found', code: 404 });
    const [, namespace, name] = match;
    const key = `${namespace}/${name ?? ''}`;
    if (req.method === 'POST' && !name) {
      const pod = body as { metadata: { name: string; uid?: string } };
      if (state.takenBy) {
        const metadata = { name: pod.metadata.name, uid: randomUUID(), labels: state.takenBy };
        pods.set(`${namespace}/${pod.metadata.name}`, { ...pod, metadata });
        state.takenBy = undefined;
      }
      if (pods.has(`${namespace}/${pod.metadata.name}`))
        return send(409, {
          kind: 'Status',
          status: 'Failure',
          message: `pods "${pod.metadata.name}" already exists`,
          reason: 'AlreadyExists',
          code: 409,
        });
      const status = state.createStatus ?? 201;
      if (status >= 400 && status < 500)
        return send(status, { kind: 'Status', status: 'Failure', message: 'refused', code: status });
      pod.metadata.uid ??= randomUUID();
      pods.set(`${namespace}/${pod.metadata.name}`, pod);
      if (status >= 500)
        return send(status, { kind: 'Status', status: 'Failure', message: 'timed out', code: status });
      return send(201, { ...pod, status: { phase: 'Pending' } });
    }
    if (req.method === 'GET' && !name) {
      const items = [...pods.entries()]
        .filter(
          ([podKey, pod]) =>
            podKey.startsWith(`${namespace}/`) && hasLabels(pod, url.searchParams.get('labelSelector')),
        )
        .map(([, pod]) => pod);
      return send(200, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items });
    }
    const pod = pods.get(key);
    if (!pod)
      return send(404, {
        kind: 'Status',
        status: 'Failure',
        message: `pods "${name}" not found`,
        code: 404,
      });
    if (req.method === 'GET') return send(200, { ...pod, status: { phase: state.podPhase } });
    if (req.method === 'DELETE') {
      // As the API server reads DeleteOptions: from the body when there is one (the query is then
      // ignored, gracePeriodSeconds included), from the query otherwise.
      const options = (body ?? {
        gracePeriodSeconds: url.searchParams.has('gracePeriodSeconds')
          ? Number(url.searchParams.get('gracePeriodSeconds'))
          : undefined,
      }) as { gracePeriodSeconds?: number; preconditions?: { uid?: string } };
      // A delete whose precondition names another pod (the name taken over meanwhile) is refused.
      const uid = options.preconditions?.uid;
      const metadata = pod.metadata as { uid?: string } | undefined;
      if (uid !== undefined && uid !== metadata?.uid)
        return send(409, {
          kind: 'Status',
          status: 'Failure',
          message: `Operation cannot be fulfilled on pods "${name}": Precondition failed: UID in precondition: ${uid}, UID in object meta: ${metadata?.uid ?? ''}`,
          reason: 'Conflict',
          code: 409,
        });
      // Without a grace period of 0 the pod only begins terminating (the default grace is 30 s):
      // it stays, its name taken, until the kubelet has stopped its containers.
      if (options.gracePeriodSeconds !== 0) {
        const deletionGracePeriodSeconds = options.gracePeriodSeconds ?? 30;
        const terminating = {
          ...metadata,
          deletionTimestamp: new Date().toISOString(),
          deletionGracePeriodSeconds,
        };
        pods.set(key, { ...pod, metadata: terminating });
        return send(200, pods.get(key));
      }
      pods.delete(key);
      return send(200, pod);
    }
    send(405, { kind: 'Status', status: 'Failure', code: 405 });
  }
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const body: unknown = raw ? JSON.parse(raw) : undefined;
      requests.push({
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        body,
        upgrade: false,
      });
      if (state.hold?.test(url.pathname) && (state.holdMethod ?? req.method) === req.method) {
        held.push(() => answer(req, res, url, body));
        res.on('close', () => {
          if (!res.writableFinished) state.abandoned++;
        });
        return;
      }
      answer(req, res, url, body);
    });
  });
  const wss = new WebSocketServer({ noServer: true, handleProtocols: () => 'v4.channel.k8s.io' });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      body: undefined,
      upgrade: true,
    });
    if (!EXEC_PATH.test(url.pathname)) return socket.destroy();
    // A held exec: the upgrade is never answered, as an API server (or kubelet) that hangs.
    if (state.hold?.test(url.pathname)) {
      let answered = false;
      held.push(() => {
        answered = true;
        if (!socket.destroyed) upgradeExec(req, socket, head, url);
      });
      heldSockets.add(socket);
      // The server allows half-open sockets: a client that gave up only ends its side.
      socket.on('end', () => socket.destroy());
      socket.on('close', () => {
        heldSockets.delete(socket);
        if (!answered) state.abandoned++;
      });
      return;
    }
    upgradeExec(req, socket, head, url);
  });
  function upgradeExec(req: http.IncomingMessage, socket: Duplex, head: Buffer, url: URL): void {
    wss.handleUpgrade(req, socket, head, (ws) => {
      const { output, exitCode } = runInFakeContainer(
        url.searchParams.getAll('command'),
        url.searchParams.get('tty') === 'true',
      );
      ws.send(frame(1, output));
      const status =
        exitCode === 0
          ? { metadata: {}, status: 'Success' }
          : {
              metadata: {},
              status: 'Failure',
              reason: 'NonZeroExitCode',
              details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
            };
      ws.send(frame(3, JSON.stringify(status)));
      ws.close();
    });
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const url = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'kube-stand-in-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfigPath,
    [
      'apiVersion: v1',
      'kind: Config',
      // The client library refuses plain HTTP unless TLS verification is off: there is no TLS here at all.
      'clusters: [{name: stand-in, cluster: {server: "' + url + '", insecure-skip-tls-verify: true}}]',
      'users: [{name: stand-in, user: {token: stand-in-token}}]',
      'contexts: [{name: stand-in, context: {cluster: stand-in, user: stand-in}}]',
      'current-context: stand-in',
      '',
    ].join('\n'),
  );
  return {
    url,
    kubeconfigPath,
    requests,
    get podPhase() {
      return state.podPhase;
    },
    set podPhase(phase: string) {
      state.podPhase = phase;
    },
    get hold() {
      return state.hold;
    },
    set hold(pattern: RegExp | undefined) {
      state.hold = pattern;
    },
    get holdMethod() {
      return state.holdMethod;
    },
    set holdMethod(method: string | undefined) {
      state.holdMethod = method;
    },
    get createStatus() {
      return state.createStatus;
    },
    set createStatus(status: number | undefined) {
      state.createStatus = status;
    },
    get takenBy() {
      return state.takenBy;
    },
    set takenBy(labels: Record<string, string> | undefined) {
      state.takenBy = labels;
    },
    pods,
    get abandoned() {
      return state.abandoned;
    },
    releaseHeld() {
      state.hold = undefined;
      for (const release of held.splice(0)) release();
    },
    addPod(namespace, pod) {
      const metadata = pod.metadata as { name: string };
      pods.set(`${namespace}/${metadata.name}`, pod);
    },
    close: async () => {
      for (const client of wss.clients) client.terminate();
      for (const socket of heldSockets) socket.destroy();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
