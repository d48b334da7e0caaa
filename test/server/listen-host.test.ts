import { mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { FROM_SOURCE, killSpawned, spawnService } from '../helpers/spawn-service.js';
import { until } from '../helpers/until.js';
import { findFreePort } from '../integration/support/free-port.js';
import { NODE_BASE_IMAGE } from '../integration/support/service-image.js';

const ROOT = join(import.meta.dirname, '../..');

/** HOST as k8s/receiver.env (the ConfigMap) and the image's ENV set it. */
const deployedHosts = () => {
  const env = /^HOST=(.*)$/m.exec(readFileSync(join(ROOT, 'k8s/receiver.env'), 'utf8'))?.[1];
  const image = /^\s+HOST=(\S+)/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1];
  return { env, image };
};

const statusOf = async (url: string) => {
  try {
    return (await fetch(url)).status;
  } catch (error) {
    return (error as { cause?: { code?: string } }).cause?.code ?? 'failed';
  }
};

describe('the HOST the manifests and the image set', { timeout: 90_000 }, () => {
  afterEach(killSpawned);

  // Regression: both set HOST=0.0.0.0, IPv4 only: on an IPv6-only cluster (EKS IPv6) the kubelet's
  // probes and the Service reach the pod's IPv6 address, where nothing listened (::1 here: refused).
  it.each(['1', '2'])('is served on IPv6 and IPv4 alike, on both ports (WORKERS=%s)', async (workers) => {
    const { env, image } = deployedHosts();
    expect(env).toBeDefined();
    expect(image).toBe(env);
    // Fixed ports: workers listen through the primary, which binds each once.
    const [port, adminPort] = [await findFreePort(), await findFreePort()];
    const service = await spawnService(
      { HOST: env!, PORT: String(port), ADMIN_PORT: String(adminPort), WORKERS: workers },
      { timeoutMs: 60_000 },
    );

    for (const base of [`http://[::1]:${service.port}`, `http://127.0.0.1:${service.port}`])
      expect(await statusOf(`${base}/healthz`), base).toBe(200);
    for (const base of [`http://[::1]:${adminPort}`, `http://127.0.0.1:${adminPort}`])
      expect(await statusOf(`${base}/alerts`), base).toBe(200);
    expect(service.lines.find((line) => line.event === 'listening')).toMatchObject({ host: '::' });
    expect(service.lines.some((line) => line.event === 'ipv6_unavailable')).toBe(false);
  });

  // Only a missing IPv6 falls back: after any error on :: (here the port's IPv6 side held by another
  // socket) 0.0.0.0 was free, and the service served IPv4 alone without a word.
  it('fails to start when the port is taken on IPv6, instead of serving IPv4 alone', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen({ port: 0, host: '::1', ipv6Only: true }, resolve));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      await expect(spawnService({ HOST: '::', PORT: String(port) })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      holder.close();
    }
  });
});

describe('log lines on a dual-stack listener (HOST=::)', { timeout: 60_000 }, () => {
  afterEach(killSpawned);

  // Regression: with HOST=:: every IPv4 sensor was logged as ::ffff:a.b.c.d, not the pod IP
  // Kubernetes shows (the form HOST=0.0.0.0 gave), so a search for it found nothing.
  it('name an IPv4 caller by its IPv4 address, an IPv6 one by its own', async () => {
    const service = await spawnService({ HOST: '::', SERVER_MAX_CONNECTIONS_PER_ADDRESS: '1' });
    const post = (base: string) =>
      fetch(`${base}/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
    expect((await post(`http://127.0.0.1:${service.port}`)).status).toBe(400);
    expect((await post(`http://[::1]:${service.port}`)).status).toBe(400);
    // Two more connections from 127.0.0.1 (beside fetch's kept-alive one): past the cap, refused and logged.
    const sockets = [net.connect(service.port, '127.0.0.1'), net.connect(service.port, '127.0.0.1')];
    for (const socket of sockets) socket.on('error', () => {});
    await until(
      async () => service.lines.some((line) => line.event === 'connection_refused'),
      10_000,
      'the refusal',
    );
    for (const socket of sockets) socket.destroy();

    expect(
      service.lines.filter((line) => line.event === 'alert_rejected').map((line) => line.caller),
    ).toEqual(['127.0.0.1', '::1']);
    expect(service.lines.find((line) => line.event === 'connection_refused')).toMatchObject({
      reason: 'max_connections_per_address',
      caller: '127.0.0.1',
    });
  });
});

const dockerReady = requireComponent('docker', commandWorks('docker', ['info']));

// A node booted with ipv6.disable=1 has no AF_INET6 sockets: socket() fails with EAFNOSUPPORT (97).
// A seccomp filter gives the container just that, on this host's network and kernel.
const NO_IPV6_SECCOMP = {
  defaultAction: 'SCMP_ACT_ALLOW',
  syscalls: [
    {
      names: ['socket'],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: 97,
      args: [{ index: 0, value: 10, op: 'SCMP_CMP_EQ' }],
    },
  ],
};

describe.skipIf(!dockerReady)('HOST=:: on a node without IPv6', { timeout: 120_000 }, () => {
  const name = `falco-alert-receiver-no-ipv6-${process.pid}`;
  afterAll(async () => {
    await execa('docker', ['rm', '--force', name], { reject: false, timeout: 30_000 });
  });

  // Regression: HOST=:: (a literal address) failed to start there with EAFNOSUPPORT, where Node
  // itself, given no host, falls back to 0.0.0.0.
  it('listens on every IPv4 address instead, and says so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'no-ipv6-'));
    const profile = join(dir, 'seccomp.json');
    writeFileSync(profile, JSON.stringify(NO_IPV6_SECCOMP));
    const port = await findFreePort();
    // The source as the other tests run it (tsx), its node_modules wherever they really are.
    const modules = realpathSync(join(ROOT, 'node_modules'));
    const { uid, gid } = userInfo();
    const probe = await execa(
      'docker',
      [
        'run',
        '--rm',
        '--network',
        'host',
        '--security-opt',
        `seccomp=${profile}`,
        NODE_BASE_IMAGE,
        'node',
        '-e',
        "require('net').createServer().listen(0, '::').on('error', (e) => console.log(e.code))",
      ],
      { reject: false, timeout: 60_000 },
    );
    expect(probe.stdout.trim()).toBe('EAFNOSUPPORT');

    await execa(
      'docker',
      [
        'run',
        '--detach',
        '--name',
        name,
        '--network',
        'host',
        '--user',
        `${uid}:${gid}`,
        '--security-opt',
        `seccomp=${profile}`,
        '--volume',
        `${ROOT}:${ROOT}:ro`,
        '--volume',
        `${modules}:${modules}:ro`,
        '--workdir',
        ROOT,
        '--tmpfs',
        '/tmp',
        '--env',
        'HOST=::',
        '--env',
        `PORT=${port}`,
        NODE_BASE_IMAGE,
        'node',
        ...FROM_SOURCE,
      ],
      { timeout: 60_000 },
    );
    const logs = async () => (await execa('docker', ['logs', name], { reject: false, all: true })).all;
    await until(async () => /"event":"listening"|failed to start/.test(await logs()), 60_000, 'the start');
    const lines = (await logs())
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);

    expect(lines.find((line) => line.event === 'ipv6_unavailable')).toMatchObject({
      level: 'warn',
      host: '::',
      address: '0.0.0.0',
    });
    expect(lines.find((line) => line.event === 'listening')).toMatchObject({ host: '0.0.0.0', port });
    expect(await statusOf(`http://127.0.0.1:${port}/healthz`)).toBe(200);
  });
});
