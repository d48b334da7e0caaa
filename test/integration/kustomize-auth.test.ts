import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hardeningEnvSchema } from '../../src/config/hardening-env.js';
import { INGEST_PATHS } from '../../src/http/routes/ingest.js';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { makeTestPki, type TestPki } from '../helpers/make-certificates.js';
import { loadFalcoSamples, postFalcoSample, type FalcoSample } from './support/falco-samples.js';
import { findFreePort } from './support/free-port.js';
import { findObject, renderKustomize, type K8sObject } from './support/kustomize.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';

const kubectlReady = requireComponent('kubectl', commandWorks('kubectl', ['version', '--client']));
const hasOpenssl = requireComponent('openssl', commandWorks('openssl', ['version']));
const EXAMPLES = path.resolve(import.meta.dirname, '../../helm-values/examples');
const SERVICE_HOST = 'falco-alert-receiver.falco.svc.cluster.local';
const TLS_SECRET = 'falco-alert-receiver-tls';
const PATH_SECRET = 'falco-alert-receiver-ingest-path';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}
interface Volume {
  name: string;
  secret?: { secretName: string; defaultMode?: number; items?: Array<{ key: string; path: string }> };
}
interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
}
interface Port {
  name: string;
  port?: number;
  containerPort?: number;
  targetPort?: string | number;
}

const podOf = (objects: K8sObject[]) => findObject(objects, 'Deployment').spec.template.spec;
const containerOf = (objects: K8sObject[]) => podOf(objects).containers[0];
const envOf = (objects: K8sObject[]): Record<string, string> =>
  Object.fromEntries(
    ((containerOf(objects).env ?? []) as EnvVar[]).flatMap((item) =>
      item.value === undefined ? [] : [[item.name, item.value]],
    ),
  );

/** The Secret volume mounted at the directory of `file`, and the key that file is. */
function secretBehind(objects: K8sObject[], file: string) {
  const mounts = containerOf(objects).volumeMounts as VolumeMount[];
  const mount = mounts.find((item) => item.mountPath === path.posix.dirname(file));
  const volume = (podOf(objects).volumes as Volume[]).find((item) => item.name === mount?.name);
  const item = volume?.secret?.items?.find((entry) => entry.path === path.posix.basename(file));
  return {
    mount,
    secretName: volume?.secret?.secretName,
    key: item?.key,
    defaultMode: volume?.secret?.defaultMode,
  };
}

// The base's own env: the viewer tokens file every component keeps.
const BASE_ENV = { VIEWER_TOKEN_FILE: '/etc/falco-alert-receiver/viewer/tokens' };

// The base's viewer Secret as the kubelet would mount it.
function viewerMount(): Record<string, string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'viewer-tokens-'));
  writeFileSync(path.join(dir, 'tokens'), 'k8s-test-viewer-token-0123456789\n');
  return { '/etc/falco-alert-receiver/viewer': dir };
}

/** The rendered env, with files under the Secret mounts (the base's viewer tokens too) moved to local directories. */
function localEnv(objects: K8sObject[], mounts: Record<string, string>): Record<string, string> {
  const mountToDir = { ...viewerMount(), ...mounts };
  return Object.fromEntries(
    Object.entries(envOf(objects)).map(([name, value]) => {
      const dir = mountToDir[path.posix.dirname(value)];
      return [name, dir === undefined ? value : path.join(dir, path.posix.basename(value))];
    }),
  );
}

function expectBaseSecurityContext(objects: K8sObject[]): void {
  const pod = podOf(objects);
  expect(pod.securityContext).toMatchObject({
    runAsNonRoot: true,
    runAsUser: 1000,
    runAsGroup: 1000,
    seccompProfile: { type: 'RuntimeDefault' },
  });
  expect(containerOf(objects).securityContext).toMatchObject({
    runAsNonRoot: true,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
  });
  expect(pod.automountServiceAccountToken).toBe(false);
}

function readExample(file: string) {
  return parse(readFileSync(path.join(EXAMPLES, file), 'utf8')) as {
    falco: {
      json_output: boolean;
      http_output: Record<string, string | boolean> & { enabled: boolean; url: string };
    };
    mounts?: { volumes: Volume[]; volumeMounts: VolumeMount[] };
  };
}

function acceptedSample(): FalcoSample {
  const sample = loadFalcoSamples().find((item) => item.expect === 'accept');
  if (!sample) throw new Error('no accepted sample in the fixtures');
  return sample;
}

describe.skipIf(!kubectlReady)('the mtls component', () => {
  let base: K8sObject[];
  let objects: K8sObject[];
  beforeAll(async () => {
    [base, objects] = await Promise.all([renderKustomize(), renderKustomize(['mtls'])]);
  });

  it('sets TLS_PORT 8443, the TLS files and INGEST_REQUIRE_CLIENT_CERT=true on the container', () => {
    expect(envOf(objects)).toEqual({
      ...BASE_ENV,
      TLS_PORT: '8443',
      TLS_CERT_FILE: '/etc/falco-alert-receiver/tls/tls.crt',
      TLS_KEY_FILE: '/etc/falco-alert-receiver/tls/tls.key',
      TLS_CLIENT_CA_FILE: '/etc/falco-alert-receiver/tls/ca.crt',
      INGEST_REQUIRE_CLIENT_CERT: 'true',
    });
    expect(hardeningEnvSchema.safeParse(envOf(objects)).success).toBe(true);
  });

  it('reads each TLS file from the read-only mounted Secret falco-alert-receiver-tls, key of the same name', () => {
    const env = envOf(objects);

    for (const name of ['TLS_CERT_FILE', 'TLS_KEY_FILE', 'TLS_CLIENT_CA_FILE']) {
      const file = env[name] ?? '';
      const behind = secretBehind(objects, file);
      // The directory, not a subPath: the kubelet never updates a subPath mount, so a renewal
      // would not reach the files the receiver reloads.
      expect(behind.mount?.subPath, name).toBeUndefined();
      expect(behind, name).toMatchObject({
        mount: { readOnly: true },
        secretName: TLS_SECRET,
        key: path.posix.basename(file),
        defaultMode: 0o440,
      });
    }
    // Mode 0440 is readable by the non-root user only through fsGroup = its group.
    expect(podOf(objects).securityContext.fsGroup).toBe(podOf(objects).securityContext.runAsGroup);
  });

  it('keeps the base security context: non-root, read-only root filesystem, no token', () => {
    expectBaseSecurityContext(objects);
  });

  it('adds container port https-ingest 8443 and Service port 8443, keeping http 8080 for probes and metrics', () => {
    const container = containerOf(objects);
    const ports = container.ports as Port[];
    const servicePorts = findObject(objects, 'Service', 'falco-alert-receiver').spec.ports as Port[];

    expect(ports.find((port) => port.name === 'https-ingest')).toMatchObject({ containerPort: 8443 });
    expect(ports.find((port) => port.name === 'http')).toMatchObject({ containerPort: 8080 });
    expect(servicePorts.find((port) => port.port === 8443)).toMatchObject({
      name: 'https-ingest',
      targetPort: 'https-ingest',
      protocol: 'TCP',
    });
    expect(servicePorts.find((port) => port.port === 8080)).toMatchObject({
      name: 'http',
      targetPort: 'http',
    });
    expect(container.readinessProbe.httpGet.port).toBe('http');
    expect(container.livenessProbe.httpGet.port).toBe('http');
  });

  it('admits Falco pods to https-ingest and keeps the base ingress rules; Prometheus stays on http', () => {
    const rules = findObject(objects, 'NetworkPolicy').spec.ingress as Array<{
      from: unknown[];
      ports: Array<{ port: string }>;
    }>;
    const baseRules = findObject(base, 'NetworkPolicy').spec.ingress;
    const portsFor = (peer: unknown) =>
      rules.filter((rule) => rule.from.some((item) => JSON.stringify(item) === JSON.stringify(peer)));

    expect(rules.slice(0, baseRules.length)).toEqual(baseRules);
    expect(rules.at(-1)).toEqual({
      from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'falco' } } }],
      ports: [{ port: 'https-ingest', protocol: 'TCP' }],
    });
    const prometheus = portsFor(baseRules[1].from[0]).flatMap((rule) => rule.ports.map((port) => port.port));
    expect(prometheus).toEqual(['http']);
  });
});

describe.skipIf(!kubectlReady)('the path-secret component', () => {
  let base: K8sObject[];
  let objects: K8sObject[];
  beforeAll(async () => {
    [base, objects] = await Promise.all([renderKustomize(), renderKustomize(['path-secret'])]);
  });

  it('points INGEST_PATH_SECRET_FILE at key `secret` of the read-only mounted Secret falco-alert-receiver-ingest-path', () => {
    const env = envOf(objects);

    expect(env).toEqual({
      ...BASE_ENV,
      INGEST_PATH_SECRET_FILE: '/etc/falco-alert-receiver/ingest-path/secret',
    });
    expect(secretBehind(objects, env.INGEST_PATH_SECRET_FILE ?? '')).toMatchObject({
      mount: { readOnly: true },
      secretName: PATH_SECRET,
      key: 'secret',
      defaultMode: 0o440,
    });
    // The file, never the value in the environment.
    expect((containerOf(objects).env as EnvVar[]).map((item) => item.name)).not.toContain(
      'INGEST_PATH_SECRET',
    );
  });

  it('keeps the base security context and leaves ports, Service and NetworkPolicy as in the base', () => {
    expectBaseSecurityContext(objects);
    expect(podOf(objects).securityContext.fsGroup).toBe(1000);
    expect(containerOf(objects).ports).toEqual(containerOf(base).ports);
    expect(findObject(objects, 'Service').spec).toEqual(findObject(base, 'Service').spec);
    expect(findObject(objects, 'NetworkPolicy').spec).toEqual(findObject(base, 'NetworkPolicy').spec);
  });
});

describe.skipIf(!kubectlReady)('the mtls, path-secret and triggers components together', () => {
  it('merge their env, volumes and mounts without dropping or duplicating any', async () => {
    const objects = await renderKustomize(['mtls', 'path-secret', 'triggers']);
    const container = containerOf(objects);
    const names = (list: Array<{ name: string }>) => list.map((item) => item.name).sort();

    expect(names(container.env)).toEqual(
      [
        'HOME',
        'INGEST_PATH_SECRET_FILE',
        'INGEST_REQUIRE_CLIENT_CERT',
        'TLS_CERT_FILE',
        'TLS_CLIENT_CA_FILE',
        'TLS_KEY_FILE',
        'TLS_PORT',
        'TRIGGER_TOKEN_FILE',
        'VIEWER_TOKEN_FILE',
      ].sort(),
    );
    const volumes = ['ingest-path-secret', 'receiver-tls', 'tmp', 'trigger-token', 'viewer-tokens'];
    expect(names(podOf(objects).volumes)).toEqual(volumes);
    expect(names(container.volumeMounts)).toEqual(volumes);
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
  });
});

describe.skipIf(!kubectlReady)('the Falco example values and what the components render', () => {
  it('falco-mtls.yaml: https to the Service DNS name and port https-ingest, at an ingest path', async () => {
    const objects = await renderKustomize(['mtls']);
    const values = readExample('falco-mtls.yaml');
    const output = values.falco.http_output;
    const url = new URL(output.url);
    const service = findObject(objects, 'Service', 'falco-alert-receiver');
    const servicePort = (service.spec.ports as Port[]).find((port) => port.port === Number(url.port));
    const containerPort = (containerOf(objects).ports as Port[]).find(
      (port) => port.name === servicePort?.targetPort,
    );

    expect(values.falco.json_output).toBe(true);
    expect(output).toMatchObject({ enabled: true, mtls: true });
    expect(url.protocol).toBe('https:');
    expect(url.hostname).toBe(`${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`);
    expect(url.hostname).toBe(SERVICE_HOST);
    expect(servicePort?.name).toBe('https-ingest');
    expect(containerPort?.containerPort).toBe(Number(envOf(objects).TLS_PORT));
    expect(INGEST_PATHS).toContain(url.pathname);
  });

  it('falco-mtls.yaml: client cert, key and CA come from a Secret the chart mounts read-only', () => {
    const values = readExample('falco-mtls.yaml');
    const { volumes, volumeMounts } = values.mounts ?? { volumes: [], volumeMounts: [] };

    for (const key of ['client_cert', 'client_key', 'ca_cert']) {
      const file = String(values.falco.http_output[key]);
      const mount = volumeMounts.find((item) => item.mountPath === path.posix.dirname(file));
      const volume = volumes.find((item) => item.name === mount?.name);
      expect(mount?.readOnly, key).toBe(true);
      expect(volume?.secret?.secretName, key).toBeTruthy();
    }
  });

  it('falco-path-secret.yaml: http to the Service port http, at /alerts/<secret> with a placeholder that is no valid secret', async () => {
    const objects = await renderKustomize(['path-secret']);
    const values = readExample('falco-path-secret.yaml');
    const raw = values.falco.http_output.url;
    const url = new URL(raw);
    const service = findObject(objects, 'Service', 'falco-alert-receiver');
    const servicePort = (service.spec.ports as Port[]).find((port) => port.port === Number(url.port));
    const placeholder = /\/alerts\/([^/]+)$/.exec(raw)?.[1] ?? '';

    expect(values.falco.json_output).toBe(true);
    expect(values.falco.http_output.enabled).toBe(true);
    expect(url.protocol).toBe('http:');
    expect(url.hostname).toBe(SERVICE_HOST);
    expect(servicePort?.targetPort).toBe('http');
    expect(Number(url.port)).toBe(Number(findObject(objects, 'ConfigMap').data.PORT));
    // The secret form is /alerts/<secret>: one segment below an ingest path.
    expect(INGEST_PATHS).toContain(path.posix.dirname(url.pathname));
    expect(placeholder).not.toBe('');
    expect(hardeningEnvSchema.safeParse({ INGEST_PATH_SECRET: placeholder }).success).toBe(false);
  });
});

describe.skipIf(!kubectlReady)('the real service with the path-secret component env', () => {
  const secret = 'k8s-test-secret-0123456789abcdef';
  let mountDir: string;
  let url: URL;
  let service: ServiceProcess;

  beforeAll(async () => {
    const objects = await renderKustomize(['path-secret']);
    mountDir = mkdtempSync(path.join(os.tmpdir(), 'ingest-path-'));
    // As the kubelet mounts the Secret made with --from-literal (plus a newline, as from a file).
    writeFileSync(path.join(mountDir, 'secret'), `${secret}\n`);
    service = await startServiceProcess(
      localEnv(objects, { '/etc/falco-alert-receiver/ingest-path': mountDir }),
    );
    url = new URL(readExample('falco-path-secret.yaml').falco.http_output.url);
  });
  afterAll(async () => {
    await service?.stop();
    if (mountDir) rmSync(mountDir, { recursive: true, force: true });
  });

  it('accepts at the example URL with the secret substituted, refuses it unsubstituted and plain /alerts', async () => {
    const sample = acceptedSample();
    const at = (pathname: string) => new URL(pathname, service.baseUrl).href;
    const substituted = url.pathname.replace(/[^/]+$/, secret);

    expect(await postFalcoSample(at(substituted), sample)).toBe(202);
    expect(await postFalcoSample(at(url.pathname), sample)).toBe(401);
    expect(await postFalcoSample(at('/alerts'), sample)).toBe(401);
  });
});

// What libcurl does with Falco's http_output.ca_cert, client_cert and client_key.
function postOverTls(
  port: number,
  pathname: string,
  pki: TestPki,
  sample: FalcoSample,
): Promise<number | string> {
  return new Promise((resolve) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: pathname,
        method: 'POST',
        headers: { 'content-type': sample.contentType, 'user-agent': 'falcosecurity/falco' },
        ca: readFileSync(pki.caCert),
        cert: readFileSync(pki.clientCert),
        key: readFileSync(pki.clientKey),
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end(sample.body);
  });
}

describe.skipIf(!kubectlReady || !hasOpenssl)('the real service with the mtls component env', () => {
  let pki: TestPki;
  let mountDir: string;
  let tlsPort: number;
  let service: ServiceProcess;

  beforeAll(async () => {
    const objects = await renderKustomize(['mtls']);
    pki = await makeTestPki('falco-node-1');
    // The Secret's keys: server certificate and key, and the CA of the client certificates.
    mountDir = mkdtempSync(path.join(os.tmpdir(), 'receiver-tls-'));
    copyFileSync(pki.serverCert, path.join(mountDir, 'tls.crt'));
    copyFileSync(pki.serverKey, path.join(mountDir, 'tls.key'));
    copyFileSync(pki.caCert, path.join(mountDir, 'ca.crt'));
    tlsPort = await findFreePort();
    service = await startServiceProcess({
      ...localEnv(objects, { '/etc/falco-alert-receiver/tls': mountDir }),
      // 8443 may be taken on the test machine; everything else is the rendered env.
      TLS_PORT: String(tlsPort),
    });
  });
  afterAll(async () => {
    await service?.stop();
    for (const dir of [mountDir, pki?.dir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('accepts an alert with a client certificate at the example URL path; plain ingest gets 401', async () => {
    const sample = acceptedSample();
    const { pathname } = new URL(readExample('falco-mtls.yaml').falco.http_output.url);

    expect(await postOverTls(tlsPort, pathname, pki, sample)).toBe(202);
    expect(await postFalcoSample(new URL('/alerts', service.baseUrl).href, sample)).toBe(401);
  });
});
