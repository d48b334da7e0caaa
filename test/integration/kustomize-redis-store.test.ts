import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { findObject, renderKustomize, type K8sObject } from './support/kustomize.js';

const kubectlReady = requireComponent('kubectl', commandWorks('kubectl', ['version', '--client']));
const RECEIVER = { 'app.kubernetes.io/name': 'falco-alert-receiver' };
const REDIS = { 'app.kubernetes.io/name': 'falco-alert-receiver-redis' };

describe.skipIf(!kubectlReady)('the redis-store component', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await renderKustomize(['redis-store']);
  });

  it('runs two receivers spread across nodes, reading STORE_URL from the Secret', () => {
    const deployment = findObject(objects, 'Deployment', 'falco-alert-receiver');
    const pod = deployment.spec.template.spec;
    const env = Object.fromEntries(
      (pod.containers[0].env as Array<{ name: string; value?: string; valueFrom?: unknown }>).map((e) => [
        e.name,
        e.value ?? e.valueFrom,
      ]),
    );

    // The autoscaler owns the count (at least 2): none in the manifest, so `kubectl apply` keeps a scaled-out count.
    expect(deployment.spec).not.toHaveProperty('replicas');
    expect(findObject(objects, 'HorizontalPodAutoscaler').spec.minReplicas).toBe(2);
    expect(pod.topologySpreadConstraints).toEqual([
      expect.objectContaining({
        topologyKey: 'kubernetes.io/hostname',
        labelSelector: { matchLabels: RECEIVER },
      }),
    ]);
    expect(env.STORE_URL).toEqual({ secretKeyRef: { name: 'falco-alert-receiver-store', key: 'url' } });
    // The plain values, with the Secret's URL, parse with the service's own config loader.
    const plain = Object.fromEntries(
      Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
    // The viewer tokens file is the mounted Secret in the pod; here a file with one token.
    const dir = mkdtempSync(path.join(tmpdir(), 'redis-store-secrets-'));
    writeFileSync(path.join(dir, 'tokens'), `${'v'.repeat(32)}\n`);
    writeFileSync(path.join(dir, 'session'), `${'s'.repeat(64)}\n`);
    // Every replica signs sessions with the key from the store Secret (required with a shared store).
    expect(plain.SESSION_SECRET_FILE).toBe('/etc/falco-alert-receiver/session/secret');
    const mount = pod.containers[0].volumeMounts.find(
      (item: { mountPath: string }) => item.mountPath === '/etc/falco-alert-receiver/session',
    );
    expect(pod.volumes.find((item: { name: string }) => item.name === mount.name).secret).toMatchObject({
      secretName: 'falco-alert-receiver-store',
      items: [{ key: 'session-secret', path: 'secret' }],
    });
    const loaded = loadConfig({
      ...plain,
      VIEWER_TOKEN_FILE: path.join(dir, 'tokens'),
      SESSION_SECRET_FILE: path.join(dir, 'session'),
      STORE_URL: 'redis://:pw@falco-alert-receiver-redis:6379/0',
    });
    if (!loaded.ok) expect(loaded.problems).toEqual([]);
    expect(loaded.ok && loaded.config.store.redis?.retentionMs).toBe(86_400_000);
  });

  it('keeps one receiver through every voluntary disruption and scales on CPU from two', () => {
    const pdb = findObject(objects, 'PodDisruptionBudget');
    const hpa = findObject(objects, 'HorizontalPodAutoscaler');

    expect(pdb.spec).toEqual({ minAvailable: 1, selector: { matchLabels: RECEIVER } });
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'falco-alert-receiver',
    });
    expect(hpa.spec.minReplicas).toBe(2);
    expect(hpa.spec.metrics[0].resource).toMatchObject({ name: 'cpu', target: { type: 'Utilization' } });
  });

  it('lets the receiver reach only DNS and Redis, keeps its ingress rules, and lets only it reach Redis', () => {
    const policy = findObject(objects, 'NetworkPolicy', 'falco-alert-receiver');
    const redisPolicy = findObject(objects, 'NetworkPolicy', 'falco-alert-receiver-redis');

    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    // The base's three: Falco, Prometheus, and people on the admin port.
    expect(policy.spec.ingress).toHaveLength(3);
    expect(policy.spec.egress[0]).toEqual({
      to: [{ podSelector: { matchLabels: REDIS } }],
      ports: [{ port: 6379, protocol: 'TCP' }],
    });
    expect(policy.spec.egress[1].ports.map((p: { port: number }) => p.port)).toEqual([53, 53]);
    expect(redisPolicy.spec.podSelector.matchLabels).toEqual(REDIS);
    expect(redisPolicy.spec.ingress).toEqual([
      { from: [{ podSelector: { matchLabels: RECEIVER } }], ports: [{ port: 'redis', protocol: 'TCP' }] },
    ]);
  });

  it('gives labs a Redis with AOF on a PVC, a password from the Secret, non-root and read-only', () => {
    const redis = findObject(objects, 'StatefulSet', 'falco-alert-receiver-redis');
    const container = redis.spec.template.spec.containers[0];

    expect(redis.spec.template.metadata.labels).toEqual(REDIS);
    expect(container.args.join(' ')).toContain('--appendonly yes');
    expect(container.args.join(' ')).toContain('--requirepass $(REDIS_PASSWORD)');
    expect(container.env[0].valueFrom).toEqual({
      secretKeyRef: { name: 'falco-alert-receiver-store', key: 'password' },
    });
    expect(redis.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
    expect(container.volumeMounts).toEqual([{ name: 'data', mountPath: '/data' }]);
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    // The receiver's Service never selects the Redis pod.
    const service = findObject(objects, 'Service', 'falco-alert-receiver');
    expect(service.spec.selector).toEqual(RECEIVER);
    expect(findObject(objects, 'Service', 'falco-alert-receiver-redis').spec.selector).toEqual(REDIS);
  });
});
