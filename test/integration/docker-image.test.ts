import { chmodSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { makeTestPki, type TestPki } from '../helpers/make-certificates.js';
import { until } from '../helpers/until.js';
import { loadFalcoSamples, postFalcoSample } from './support/falco-samples.js';
import { findFreePort } from './support/free-port.js';
import { removeContainer, startServiceContainer } from './support/read-only-container.js';
import { parseMetricSamples, sumSamples } from './support/metric-samples.js';
import { METRICS_REUSE_MS } from '../../src/http/routes/metrics.js';
import { buildServiceImage } from './support/service-image.js';

const dockerReady = requireComponent('docker', commandWorks('docker', ['info']));
const IMAGE = 'falco-alert-receiver:integration-test';

async function readMetrics(baseUrl: string) {
  const response = await fetch(`${baseUrl}/metrics`);
  return parseMetricSamples(await response.text());
}

// The image's HEALTHCHECK as Docker runs it: its own command, timeout, retries and start period;
// only the interval is cut from 10 s to 1 s (`docker run --health-interval` overrides that alone).
async function runHealthChecked(image: string, env: Record<string, string>, extra: string[] = []) {
  const envArgs = Object.entries(env).flatMap(([name, value]) => ['--env', `${name}=${value}`]);
  const run = ['run', '--detach', '--network', 'host', '--read-only', '--health-interval', '1s'];
  const { stdout } = await execa('docker', [...run, ...extra, ...envArgs, image], { timeout: 30_000 });
  return stdout.trim();
}

// The image a container runs, by id: another build of the tag meanwhile does not change it.
async function readImageOf(id: string): Promise<string> {
  const { stdout } = await execa('docker', ['inspect', '--format', '{{.Image}}', id]);
  return stdout.trim();
}

async function readHealthStatus(id: string): Promise<string> {
  const { stdout } = await execa('docker', ['inspect', '--format', '{{json .State.Health}}', id]);
  return (JSON.parse(stdout) as { Status: string } | null)?.Status ?? 'no healthcheck';
}

// Polls until Docker's verdict is in, `starting` until then: within the image's 30 s start period a
// failed check does not count, so the first success makes it healthy (each check starts a node).
async function awaitHealthVerdict(id: string): Promise<string> {
  let status = 'starting';
  await until(
    async () => (status = await readHealthStatus(id)) !== 'starting',
    30_000,
    `a health verdict on ${id}`,
  ).catch(() => undefined);
  return status;
}

describe.skipIf(!dockerReady)('the container image', () => {
  let container: StartedTestContainer;
  let baseUrl: string;
  let pki: TestPki | undefined;
  const healthChecked: string[] = [];

  beforeAll(async () => {
    await buildServiceImage(IMAGE, 'runtime');
    const port = await findFreePort();
    baseUrl = `http://127.0.0.1:${port}`;
    container = await startServiceContainer(IMAGE, { PORT: String(port), LOG_LEVEL: 'info' });
    // A cold build runs npm ci twice (build and production stages) on a shared 2-core machine.
  }, 300_000);

  afterAll(async () => {
    await removeContainer(container);
    for (const id of healthChecked) await execa('docker', ['rm', '--force', id], { reject: false });
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  it('runs the service as a non-root numeric user', async () => {
    const { output, exitCode } = await container.exec(['id', '-u']);
    const inspected = await execa('docker', ['inspect', '--format', '{{.Config.User}}', container.getId()]);

    expect(exitCode).toBe(0);
    expect(Number(output.trim())).toBe(1000);
    expect(inspected.stdout.trim()).toMatch(/^1000(:1000)?$/);
  });

  it('serves with a read-only root filesystem, which refuses writes', async () => {
    const inspected = await execa('docker', [
      'inspect',
      '--format',
      '{{.HostConfig.ReadonlyRootfs}}',
      container.getId(),
    ]);
    const write = await container.exec(['touch', '/app/written']);
    const health = await fetch(`${baseUrl}/healthz`);

    expect(inspected.stdout.trim()).toBe('true');
    expect(write.exitCode).not.toBe(0);
    expect(health.status).toBe(200);
  });

  it('reports healthy to Docker by its HEALTHCHECK, whose check fails when nothing answers on PORT', async () => {
    const image = await readImageOf(container.getId());
    const port = await findFreePort();
    const id = await runHealthChecked(image, { PORT: String(port) });
    healthChecked.push(id);

    expect(await awaitHealthVerdict(id)).toBe('healthy');
    // The same check, run by hand, against a port nobody listens on.
    const { stdout } = await execa('docker', [
      'inspect',
      '--format',
      '{{json .Config.Healthcheck.Test}}',
      id,
    ]);
    const [form, ...check] = JSON.parse(stdout) as string[];
    const vacant = await execa('docker', ['exec', '--env', `PORT=${await findFreePort()}`, id, ...check], {
      reject: false,
      timeout: 30_000,
    });
    expect(form).toBe('CMD');
    expect(vacant.exitCode).toBe(1);
  }, 60_000);

  it('stays healthy with the TLS listener on: /healthz stays on the plain PORT beside TLS_PORT', async () => {
    const image = await readImageOf(container.getId());
    pki = await makeTestPki('healthcheck');
    // The service runs as uid 1000: the key and its folder readable by it.
    chmodSync(pki.dir, 0o755);
    for (const file of readdirSync(pki.dir)) chmodSync(join(pki.dir, file), 0o644);
    const [port, tlsPort] = [await findFreePort(), await findFreePort()];
    const env = {
      PORT: String(port),
      TLS_PORT: String(tlsPort),
      TLS_CERT_FILE: '/tls/server.crt',
      TLS_KEY_FILE: '/tls/server.key',
    };
    const id = await runHealthChecked(image, env, ['--volume', `${pki.dir}:/tls:ro`]);
    healthChecked.push(id);

    expect(await awaitHealthVerdict(id)).toBe('healthy');
    const logs = await execa('docker', ['logs', id]);
    expect(logs.stdout).toContain('"event":"listening_tls"');
  }, 60_000);

  it('counts every accepted sample alert by rule and priority and every rejected one by reason', async () => {
    const samples = loadFalcoSamples();
    const before = await readMetrics(baseUrl);

    const statuses: number[] = [];
    for (const sample of samples) statuses.push(await postFalcoSample(`${baseUrl}/alerts`, sample));
    // A render is served again for METRICS_REUSE_MS: wait for one made after the posts.
    await new Promise((resolve) => setTimeout(resolve, METRICS_REUSE_MS + 100));
    const after = await readMetrics(baseUrl);

    const accepted = samples.filter((sample) => sample.expect === 'accept');
    samples.forEach((sample, index) => {
      if (sample.expect === 'accept') expect(statuses[index], sample.file).toBe(202);
      else expect(statuses[index], sample.file).toBeGreaterThanOrEqual(400);
    });
    for (const { rule, priority } of accepted) {
      const labels = { rule: rule as string, priority: priority as string };
      const expected = accepted.filter((s) => s.rule === rule && s.priority === priority).length;
      const delta =
        sumSamples(after, 'falco_alerts_total', labels) - sumSamples(before, 'falco_alerts_total', labels);
      expect(delta, `${rule}/${priority}`).toBe(expected);
    }
    const rejectedDelta =
      sumSamples(after, 'falco_alerts_rejected_total') - sumSamples(before, 'falco_alerts_rejected_total');
    expect(rejectedDelta).toBe(samples.length - accepted.length);
  });

  it('ships production dependencies and compiled code only, listening on :: (IPv6 and IPv4) port 8080 by default', async () => {
    const prod = await container.exec(['ls', '/app/node_modules/express/package.json', '/app/dist/main.js']);
    const dev = await container.exec([
      'ls',
      '/app/node_modules/typescript',
      '/app/node_modules/vitest',
      '/app/src',
    ]);
    const env = await execa('docker', ['inspect', '--format', '{{json .Config.Env}}', IMAGE]);

    expect(prod.exitCode).toBe(0);
    expect(dev.exitCode).not.toBe(0);
    expect(JSON.parse(env.stdout)).toEqual(expect.arrayContaining(['HOST=::', 'PORT=8080']));
  });

  // Regression: HOST=0.0.0.0 left a pod's IPv6 address (IPv6-only clusters) without a listener.
  it('answers on IPv6 as on IPv4', async () => {
    const port = new URL(baseUrl).port;
    for (const base of [`http://[::1]:${port}`, `http://127.0.0.1:${port}`])
      expect((await fetch(`${base}/healthz`)).status, base).toBe(200);
  });

  it('resolves the packages the bundle loads on first use (scripts/build.mjs externals) from its node_modules', async () => {
    // Not in dist/main.js: a REDIS_URL or a trigger run imports them from /app/node_modules.
    const load = await container.exec([
      'node',
      '--input-type=module',
      '-e',
      "for (const name of ['redis', 'execa', '@kubernetes/client-node', '@kubernetes/client-node/dist/web-socket-handler.js', 'ws']) await import(name); console.log('loaded');",
    ]);

    expect(load.output.trim()).toBe('loaded');
    expect(load.exitCode).toBe(0);
  });

  it('runs node with the V8 flags NODE_OPTIONS cannot carry: no pretenuring, a 32 MB initial old space, marking steps from allocation', async () => {
    // PID 1 is the image's CMD; its command line is NUL-separated.
    const cmdline = await container.exec(['cat', '/proc/1/cmdline']);

    expect(cmdline.output.split('\0').filter(Boolean)).toEqual([
      'node',
      '--no-allocation-site-pretenuring',
      '--initial-old-space-size=32',
      '--no-incremental-marking-task',
      'dist/main.js',
    ]);
    // And the heap bounds NODE_OPTIONS carries, both flags of the quoted value (Dockerfile).
    const environ = await container.exec(['cat', '/proc/1/environ']);
    expect(environ.output.split('\0')).toContain(
      'NODE_OPTIONS=--max-old-space-size=128 --max-semi-space-size=8',
    );
    // And glibc's fixed mmap threshold (Dockerfile: freed memory goes back instead of piling up).
    expect(environ.output.split('\0')).toContain('MALLOC_MMAP_THRESHOLD_=131072');
  });

  it('serves the dashboard with the charting library copied into dist/ by the build', async () => {
    const copied = await container.exec(['ls', '/app/dist/assets/vendor/uPlot.iife.min.js']);
    const script = await fetch(`${baseUrl}/ui/vendor/uPlot.iife.min.js`);
    const style = await fetch(`${baseUrl}/ui/vendor/uPlot.min.css`);

    expect(copied.exitCode).toBe(0);
    expect(script.status).toBe(200);
    expect(await script.text()).toContain('uPlot');
    expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('exits with code 0 and logs shutdown_complete when docker stop sends SIGTERM', async () => {
    await container.stop({ remove: false, timeout: 20_000 });
    const exit = await execa('docker', ['inspect', '--format', '{{.State.ExitCode}}', container.getId()]);
    const logs = await execa('docker', ['logs', container.getId()]);
    const events = logs.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { event?: string; signal?: string; drained?: boolean });

    expect(exit.stdout.trim()).toBe('0');
    expect(events).toContainEqual(expect.objectContaining({ event: 'signal', signal: 'SIGTERM' }));
    expect(events).toContainEqual(expect.objectContaining({ event: 'shutdown_complete', drained: true }));
  });
});
