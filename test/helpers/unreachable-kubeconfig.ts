import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Writes a kubeconfig whose server is a loopback port that was just free and is closed again, so
 * helm/kubectl/the client get "connection refused" at once and never reach another process.
 */
export async function writeUnreachableKubeconfig(): Promise<{ path: string; home: string; port: number }> {
  const probe = http.createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((done) => probe.close(() => done()));
  const home = mkdtempSync(join(tmpdir(), 'unreachable-kube-'));
  const path = join(home, 'kubeconfig');
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}"}}]`,
      'users: [{name: u, user: {}}]',
      'contexts: [{name: x, context: {cluster: c, user: u}}]',
      'current-context: x',
      '',
    ].join('\n'),
  );
  return { path, home, port };
}
