import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildHelmValueArgs, buildPostRendererArgs } from '../../src/runners/helm-args.js';
import { GENERATOR_ACTIONS } from '../../src/triggers/data/event-generator-actions.js';
import { buildShellPod } from '../../src/runners/kube-pods.js';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { FALCO_CHARTS_DIR, helmReady, renderChart, requireChart } from './support/falco-charts.js';
import { baselineViolations, restrictedViolations } from './support/pod-security.js';
import { findObject, renderKustomize, type K8sObject } from './support/kustomize.js';
import { REPO_ROOT } from './support/service-image.js';

const kubectlReady = requireComponent('kubectl', commandWorks('kubectl', ['version', '--client']));
const DOCKERFILE = readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8');
/** The value of `ARG name=...` or `ENV ... name=...` in the Dockerfile. */
const dockerfileValue = (name: string) => new RegExp(`\\b${name}=(\\S+)`).exec(DOCKERFILE)?.[1] ?? '';
const BUNDLED_VERSION = dockerfileValue('EVENT_GENERATOR_CHART_VERSION');
const bundledChart = requireChart(`event-generator-${BUNDLED_VERSION}.tgz`);
const POST_RENDERER = dockerfileValue('TRIGGER_EVENT_GENERATOR_POST_RENDERER');
const PLUGINS_ENV = { HELM_PLUGINS: path.join(REPO_ROOT, 'docker/helm-plugins') };
// The bundled chart (0.4.0) runs event-generator v0.13, the default TRIGGER_EVENT_GENERATOR_VERSION.
const IMAGE_TAG = GENERATOR_ACTIONS['v0.13'].imageTag;

/** Where each kind the chart may create lives in the API; a kind missing here fails the test. */
const API_RESOURCES: Record<string, { group: string; resource: string }> = {
  ServiceAccount: { group: '', resource: 'serviceaccounts' },
  Job: { group: 'batch', resource: 'jobs' },
  ConfigMap: { group: '', resource: 'configmaps' },
  Service: { group: '', resource: 'services' },
  Deployment: { group: 'apps', resource: 'deployments' },
};
/** What helm install --wait, upgrade and uninstall do to each object of a release. */
const HELM_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
/** Dropped by the post-renderer: they need cluster-wide rights the receiver must not hold. */
const DROPPED_KINDS = ['ClusterRole', 'RoleBinding'];

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** The bundled chart rendered with the trigger's own values (one-shot Job), with or without the post-renderer. */
function renderBundledChart(postRenderer?: string) {
  return renderChart(bundledChart!, {
    release: 'falco-eg-0123abcd',
    namespace: 'falco-canary',
    values: [],
    extraArgs: [...buildHelmValueArgs('^syscall', IMAGE_TAG), ...buildPostRendererArgs(postRenderer)],
    env: PLUGINS_ENV,
  });
}

describe.skipIf(!helmReady)('actions as the bundled chart hands them to event-generator', () => {
  it.each(['--loop', '-sevil.example', '-h', '123', 'yes', 'null', '[a-z]', '|', 'syscall.WriteBelowRoot'])(
    'passes %j as one string argument that matches the same actions, never a flag or another YAML type',
    async (actions) => {
      const commandFor = async (regex: string) => {
        const objects = await renderChart(bundledChart!, {
          release: 'falco-eg-0123abcd',
          namespace: 'falco-canary',
          values: [],
          extraArgs: buildHelmValueArgs(regex, IMAGE_TAG),
          env: PLUGINS_ENV,
        });
        return findObject(objects, 'Job').spec.template.spec.containers[0].command as unknown[];
      };
      const command = await commandFor(actions);

      expect(command.at(-1)).toBe(`^.*(${actions})`);
      expect(command.every((part) => typeof part === 'string')).toBe(true);
      // Every other argument is the chart's own, as with a plain regex.
      expect(command.slice(0, -1)).toEqual((await commandFor('^syscall')).slice(0, -1));
      // Go's regexp and re2js agree: the argument selects what the regex alone would.
      const name = 'syscall.WriteBelowRoot';
      expect(new RegExp(String(command.at(-1))).test(name)).toBe(new RegExp(actions).test(name));
    },
  );
});

const kindsOf = (objects: K8sObject[]) => [...new Set(objects.map((obj) => obj.kind))].sort();

/**
 * Peak RSS of a trigger run's processes together: helm 4.1.4 (47-50 MiB) and the post-renderer it
 * starts (node, 48-49 MiB), measured with the bundled chart (components/triggers/deployment-patch.yaml).
 */
const TRIGGER_RUN_PEAK_BYTES = 98 * 2 ** 20;
const QUANTITY_UNITS: Record<string, number> = {
  '': 1,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  M: 1e6,
  G: 1e9,
};

/** Bytes of a memory quantity as manifests write it (`192Mi`, `1Gi`, `500M`). */
function memoryBytes(quantity: string): number {
  const match = /^(\d+)(Ki|Mi|Gi|M|G)?$/.exec(quantity);
  if (!match) throw new Error(`not a memory quantity this test reads: ${quantity}`);
  return Number(match[1]) * QUANTITY_UNITS[match[2] ?? '']!;
}

/** The receiver container's memory request and limit, in bytes. */
function receiverMemory(objects: K8sObject[]): { request: number; limit: number } {
  const { resources } = findObject(objects, 'Deployment').spec.template.spec.containers[0];
  return { request: memoryBytes(resources.requests.memory), limit: memoryBytes(resources.limits.memory) };
}

describe.skipIf(!kubectlReady)('the triggers component', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await renderKustomize(['triggers']);
  });

  it('runs the triggers image, with the writable /tmp emptyDir holding HOME and every helm directory', () => {
    const pod = findObject(objects, 'Deployment').spec.template.spec;
    const container = pod.containers[0];
    const tmpMount = (container.volumeMounts as Array<{ name: string; mountPath: string }>).find(
      (mount) => mount.mountPath === '/tmp',
    );
    const volume = (pod.volumes as Array<{ name: string; emptyDir?: unknown }>).find(
      (item) => item.name === tmpMount?.name,
    );
    const home = (container.env as Array<{ name: string; value?: string }>).find(
      (item) => item.name === 'HOME',
    );
    const helmDirs = ['HELM_CACHE_HOME', 'HELM_CONFIG_HOME', 'HELM_DATA_HOME'].map(dockerfileValue);

    expect(container.image).toBe('falco-alert-receiver-triggers:0.1.0');
    expect(volume?.emptyDir).toBeDefined();
    expect(home?.value).toBe('/tmp');
    for (const dir of helmDirs) expect(dir.startsWith('/tmp/'), dir).toBe(true);
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
  });

  // helm and its post-renderer run in the receiver's container: without room for them a trigger
  // run took the pod over its request (the first evicted under memory pressure) or to its limit.
  it("requests and limits the base's memory plus a trigger run's helm and post-renderer", async () => {
    const base = receiverMemory(await renderKustomize());
    const triggers = receiverMemory(objects);

    expect(triggers.request).toBeGreaterThanOrEqual(base.request + TRIGGER_RUN_PEAK_BYTES);
    expect(triggers.limit).toBeGreaterThanOrEqual(base.limit + TRIGGER_RUN_PEAK_BYTES);
  });

  it('lets trigger runs go to falco-canary only, the namespace of the Role', () => {
    expect(findObject(objects, 'ConfigMap').data.TRIGGER_ALLOWED_NAMESPACES).toBe('falco-canary');
    expect(findObject(objects, 'Role').metadata.namespace).toBe('falco-canary');
  });

  // The Role lets the receiver's token create pods here: without a Pod Security level it could
  // create a privileged, hostPID or hostPath pod, which is root on a node.
  it('has Pod Security Admission enforce baseline in falco-canary (warn baseline, audit restricted)', () => {
    expect(findObject(objects, 'Namespace', 'falco-canary').metadata.labels).toEqual({
      'pod-security.kubernetes.io/enforce': 'baseline',
      'pod-security.kubernetes.io/warn': 'baseline',
      'pod-security.kubernetes.io/audit': 'restricted',
    });
  });

  it('allows egress to the API server address only: one TCP port, no DNS, no other peer', () => {
    const policy = findObject(objects, 'NetworkPolicy', 'falco-alert-receiver-egress');
    const rules = policy.spec.egress as Array<{
      to: Array<{ ipBlock?: { cidr: string } }>;
      ports: unknown[];
    }>;

    expect(policy.spec.policyTypes).toEqual(['Egress']);
    expect(policy.spec.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'falco-alert-receiver' });
    expect(rules).toHaveLength(1);
    expect(rules[0]?.to).toEqual([{ ipBlock: { cidr: expect.stringMatching(/\/32$/) } }]);
    expect(rules[0]?.ports).toEqual([{ port: expect.any(Number), protocol: 'TCP' }]);
  });
});

describe.skipIf(!(kubectlReady && helmReady() && bundledChart))(
  `the triggers Role against the bundled event-generator chart (${FALCO_CHARTS_DIR})`,
  () => {
    let rules: PolicyRule[];
    beforeAll(async () => {
      rules = findObject(await renderKustomize(['triggers']), 'Role').rules as PolicyRule[];
    });

    it('covers every kind the chart creates through the post-renderer, with the verbs helm uses', async () => {
      const kinds = kindsOf(await renderBundledChart(POST_RENDERER));

      expect(kinds.length).toBeGreaterThan(0);
      for (const kind of kinds) {
        const api = API_RESOURCES[kind];
        expect(api, `${kind}: add it to API_RESOURCES and to the Role`).toBeDefined();
        const rule = rules.find(
          (item) => item.apiGroups.includes(api!.group) && item.resources.includes(api!.resource),
        );
        expect(rule?.verbs.slice().sort(), kind).toEqual(HELM_VERBS);
      }
    });

    it('grants no resource beyond those kinds, the pods the triggers use and helm release Secrets', async () => {
      const chartResources = kindsOf(await renderBundledChart(POST_RENDERER)).map(
        (kind) => API_RESOURCES[kind]?.resource,
      );
      const granted = rules.flatMap((rule) => rule.resources).sort();

      expect(granted).toEqual([...chartResources, 'pods', 'pods/exec', 'pods/log', 'secrets'].sort());
    });

    it('post-renders away exactly the cluster-scoped RBAC, which the chart renders unconditionally', async () => {
      const raw = kindsOf(await renderBundledChart());
      const kept = kindsOf(await renderBundledChart(POST_RENDERER));

      expect(POST_RENDERER).toBe('drop-cluster-rbac');
      expect(raw.filter((kind) => !kept.includes(kind))).toEqual(DROPPED_KINDS);
      expect(kept).toContain('Job');
    });
  },
);

const EVENT_GENERATOR_CHARTS = (
  [
    ['0.2.0', 'v0.10'],
    ['0.4.0', 'v0.13'],
  ] as const
).map(([version, generator]) => ({
  version,
  imageTag: GENERATOR_ACTIONS[generator].imageTag,
  archive: requireChart(`event-generator-${version}.tgz`),
}));

describe('the pods the triggers create, against the Pod Security level of falco-canary', () => {
  it("the shell trigger's pod meets restricted", () => {
    const pod = buildShellPod({
      name: 'falco-trigger-shell-0123abcd',
      image: 'busybox:1.36',
      lifetimeSeconds: 120,
      runId: '0123abcd-0000-4000-8000-000000000000',
    });

    expect(restrictedViolations(pod.spec!)).toEqual([]);
  });

  it
    .skipIf(!helmReady() || EVENT_GENERATOR_CHARTS.some((chart) => !chart.archive))
    .each(EVENT_GENERATOR_CHARTS.map((chart) => [chart.version, chart.archive, chart.imageTag]))(
    'the Job of event-generator chart %s, as the trigger installs it, meets baseline (not restricted: the chart sets no securityContext)',
    async (_version, archive, imageTag) => {
      const objects = await renderChart(archive!, {
        release: 'falco-eg-0123abcd',
        namespace: 'falco-canary',
        values: [],
        extraArgs: buildHelmValueArgs('^syscall', imageTag!),
      });
      const pods = objects.filter((obj) => obj.spec?.template?.spec).map((obj) => obj.spec.template.spec);

      expect(pods).toHaveLength(1);
      expect(baselineViolations(pods[0])).toEqual([]);
      expect(restrictedViolations(pods[0])).toContain('event-generator: runAsNonRoot not true');
    },
  );
});
