import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { envSchema } from '../../src/config/schema.js';
import { hostAllowed } from '../../src/http/host-origin-guard.js';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { findObject, K8S_DIR, renderKustomize, type K8sObject } from './support/kustomize.js';

const kubectlReady = requireComponent('kubectl', commandWorks('kubectl', ['version', '--client']));
const CONFIG_DIR = path.resolve(import.meta.dirname, '../../src/config');
const RECEIVER_LABELS = { 'app.kubernetes.io/name': 'falco-alert-receiver' };

describe.skipIf(!kubectlReady)('kubectl kustomize k8s/ (the base)', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await renderKustomize();
  });

  it('renders the receiver objects, all in namespace falco', () => {
    const kinds = objects.map((obj) => obj.kind).sort();

    expect(kinds).toEqual(
      ['ConfigMap', 'Deployment', 'NetworkPolicy', 'PodDisruptionBudget', 'Service', 'ServiceAccount'].sort(),
    );
    for (const obj of objects)
      expect(obj.metadata.namespace, `${obj.kind}/${obj.metadata.name}`).toBe('falco');
  });

  it('runs the container non-root, read-only, without capabilities, under RuntimeDefault seccomp', () => {
    const pod = findObject(objects, 'Deployment').spec.template.spec;
    const container = pod.containers[0];

    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext.privileged).toBeUndefined();
  });

  it('mounts no service-account token in the base', () => {
    const pod = findObject(objects, 'Deployment').spec.template.spec;

    expect(pod.automountServiceAccountToken).toBe(false);
    expect(findObject(objects, 'ServiceAccount').automountServiceAccountToken).toBe(false);
    expect(objects.some((obj) => obj.kind === 'Role' || obj.kind === 'RoleBinding')).toBe(false);
  });

  it('probes /healthz and /readyz on the named port the ConfigMap sets, with resources', () => {
    const deployment = findObject(objects, 'Deployment');
    const container = deployment.spec.template.spec.containers[0];
    const env = findObject(objects, 'ConfigMap').data as Record<string, string>;
    const httpPort = container.ports.find((port: { name: string }) => port.name === 'http');

    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    // A burst of large alerts keeps the one event loop busy for seconds (docs/hardening.md): the
    // default 1 s timeout took the only replica out of the Service (every sensor refused) or
    // restarted it (the in-memory store lost).
    for (const probe of [container.livenessProbe, container.readinessProbe]) {
      expect(probe.timeoutSeconds).toBeGreaterThanOrEqual(5);
      expect(probe.failureThreshold).toBeGreaterThanOrEqual(2);
    }
    expect(container.livenessProbe.failureThreshold).toBeGreaterThanOrEqual(3);
    expect(httpPort.containerPort).toBe(Number(env.PORT));
    expect(env.HOST).toBe('::');
    expect(container.envFrom[0].configMapRef.name).toBe(findObject(objects, 'ConfigMap').metadata.name);
    expect(container.resources.requests).toHaveProperty('memory');
    expect(container.resources.limits).toHaveProperty('memory');
  });

  it('points the Service, the PodDisruptionBudget and the NetworkPolicy at the receiver pods only', () => {
    const podLabels = findObject(objects, 'Deployment').spec.template.metadata.labels;
    const service = findObject(objects, 'Service', 'falco-alert-receiver');

    expect(podLabels).toMatchObject(RECEIVER_LABELS);
    expect(service.spec.selector).toEqual(RECEIVER_LABELS);
    expect(service.spec.ports[0]).toMatchObject({ name: 'http', port: 8080, targetPort: 'http' });
    // policy/v1: an empty selector would cover every pod in the namespace, Falco's too.
    expect(findObject(objects, 'PodDisruptionBudget').spec.selector.matchLabels).toEqual(RECEIVER_LABELS);
    expect(findObject(objects, 'NetworkPolicy').spec.podSelector.matchLabels).toEqual(RECEIVER_LABELS);
  });

  it('lets the Service DNS names through ALLOWED_HOSTS, and only names (pod IPs always pass)', () => {
    const service = findObject(objects, 'Service', 'falco-alert-receiver');
    const { name, namespace } = service.metadata;
    const loaded = loadConfig(findObject(objects, 'ConfigMap').data as Record<string, string>);
    if (!loaded.ok) throw new Error(loaded.problems.join('; '));
    const allowed = loaded.config.hardening.allowedHosts;

    for (const host of [
      name,
      `${name}.${namespace}`,
      `${name}.${namespace}.svc`,
      `${name}.${namespace}.svc.cluster.local`,
    ])
      expect(hostAllowed(`${host}:8080`, allowed), host).toBe(true);
    expect(hostAllowed('10.244.0.12:8080', allowed)).toBe(true);
    expect(hostAllowed('attacker.example', allowed)).toBe(false);
  });

  // Regression: a selector-including label transformer rewrote the `from` selectors to the receiver's own labels.
  it('admits Falco pods and Prometheus to port http only, and operators or the ingress controller to port admin only', () => {
    const policy = findObject(objects, 'NetworkPolicy').spec;
    const rules = policy.ingress as Array<{ from: unknown[]; ports: Array<{ port: string }> }>;
    const peersOf = (port: string) =>
      rules.filter((rule) => rule.ports.some((item) => item.port === port)).flatMap((rule) => rule.from);

    expect(policy.policyTypes).toEqual(['Ingress']);
    for (const rule of rules) expect(rule.ports).toHaveLength(1);
    expect(peersOf('http')).toEqual([
      { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'falco' } } },
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
      },
    ]);
    expect(peersOf('admin')).toEqual([
      { namespaceSelector: { matchLabels: { 'falco-alert-receiver/operators': 'true' } } },
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } },
      },
    ]);
  });

  it('serves people on a second Service port, admin, that is the ConfigMap ADMIN_PORT', () => {
    const container = findObject(objects, 'Deployment').spec.template.spec.containers[0];
    const env = findObject(objects, 'ConfigMap').data as Record<string, string>;
    const service = findObject(objects, 'Service', 'falco-alert-receiver');
    const adminPort = container.ports.find((port: { name: string }) => port.name === 'admin');

    expect(adminPort.containerPort).toBe(Number(env.ADMIN_PORT));
    expect(service.spec.ports).toContainEqual({
      name: 'admin',
      port: 8081,
      targetPort: 'admin',
      protocol: 'TCP',
    });
    expect(env.ADMIN_PORT).not.toBe(env.PORT);
  });

  it('reads the viewer tokens from a mounted Secret that must exist, never from the environment', () => {
    const pod = findObject(objects, 'Deployment').spec.template.spec;
    const container = pod.containers[0];
    const file = container.env.find((item: { name: string }) => item.name === 'VIEWER_TOKEN_FILE').value;
    const mount = container.volumeMounts.find(
      (item: { mountPath: string }) => item.mountPath === path.posix.dirname(file),
    );
    const volume = pod.volumes.find((item: { name: string }) => item.name === mount.name);

    expect(mount.readOnly).toBe(true);
    expect(volume.secret).toEqual({
      secretName: 'falco-alert-receiver-viewer',
      defaultMode: 0o440,
      items: [{ key: 'tokens', path: path.posix.basename(file) }],
    });
    expect(pod.securityContext.fsGroup).toBe(pod.securityContext.runAsGroup);
    expect(JSON.stringify(findObject(objects, 'ConfigMap').data)).not.toContain('VIEWER_TOKEN');
  });
});

describe.skipIf(!kubectlReady)('the triggers component', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await renderKustomize(['triggers']);
  });

  it('binds the receiver to a Role in the falco-canary namespace only, with no cluster-wide grant', () => {
    const role = findObject(objects, 'Role');
    const binding = findObject(objects, 'RoleBinding');

    expect(role.metadata.namespace).toBe('falco-canary');
    expect(binding.metadata.namespace).toBe('falco-canary');
    expect(binding.roleRef).toMatchObject({ kind: 'Role', name: role.metadata.name });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'falco-alert-receiver', namespace: 'falco' },
    ]);
    expect(objects.some((obj) => obj.kind.startsWith('Cluster'))).toBe(false);
  });

  it('grants only the verbs the triggers use, never a wildcard', () => {
    const rules = findObject(objects, 'Role').rules as Array<{ resources: string[]; verbs: string[] }>;
    const grants = Object.fromEntries(
      rules.map((rule) => [rule.resources.join(','), rule.verbs.slice().sort()]),
    );

    expect(grants.pods).toEqual(['create', 'delete', 'get', 'list', 'watch']);
    expect(grants['pods/exec']).toEqual(['create', 'get']);
    expect(grants['pods/log']).toEqual(['get']);
    expect(grants.jobs).toEqual(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']);
    for (const rule of rules) {
      expect(rule.verbs).not.toContain('*');
      expect(rule.resources).not.toContain('*');
    }
  });

  it('says on each Role rule which trigger needs it', () => {
    const lines = readFileSync(path.join(K8S_DIR, 'components/triggers/role.yaml'), 'utf8').split('\n');
    const ruleStarts = lines.flatMap((line, index) =>
      line.trim().startsWith('- apiGroups:') ? [index] : [],
    );

    const commentAbove = (index: number): string => {
      const block: string[] = [];
      for (let i = index - 1; i >= 0 && lines[i]?.trim().startsWith('#'); i -= 1)
        block.unshift(lines[i] ?? '');
      return block.join(' ');
    };

    expect(ruleStarts.length).toBeGreaterThan(0);
    for (const index of ruleStarts) {
      expect(commentAbove(index), `rule at line ${index + 1}`).toMatch(/(shell|event-generator) trigger/);
    }
  });

  it('enables triggers, mounts the token and reads TRIGGER_TOKEN_FILE from a Secret directory mount', () => {
    const pod = findObject(objects, 'Deployment').spec.template.spec;
    const env = pod.containers[0].env as Array<{ name: string; value?: string; valueFrom?: unknown }>;

    expect(pod.automountServiceAccountToken).toBe(true);
    // Helm's children orphaned by a timeout are reaped by the pause process, not left to node.
    expect(pod.shareProcessNamespace).toBe(true);
    expect(findObject(objects, 'ConfigMap').data.TRIGGERS_ENABLED).toBe('true');
    // A file in a directory mount (the kubelet updates it; a subPath or an env value never changes).
    expect(env.find((item) => item.name === 'TRIGGER_TOKEN')).toBeUndefined();
    const file = env.find((item) => item.name === 'TRIGGER_TOKEN_FILE')?.value ?? '';
    const mounts = pod.containers[0].volumeMounts as Array<{
      name: string;
      mountPath: string;
      subPath?: string;
    }>;
    const mount = mounts.find((item) => file.startsWith(`${item.mountPath}/`));
    expect(mount).toMatchObject({ name: 'trigger-token', mountPath: '/etc/falco-alert-receiver/triggers' });
    expect(mount?.subPath).toBeUndefined();
    const volume = (
      pod.volumes as Array<{ name: string; secret?: { secretName: string; items?: unknown } }>
    ).find((item) => item.name === 'trigger-token');
    expect(volume?.secret).toMatchObject({
      secretName: 'falco-alert-receiver-triggers',
      items: [{ key: 'token', path: file.slice(`${mount?.mountPath}/`.length) }],
    });
    expect(pod.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
  });
});

describe.skipIf(!kubectlReady)('the prometheus-operator component', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await renderKustomize(['prometheus-operator']);
  });

  it('scrapes /metrics on the Service port named http', () => {
    const monitor = findObject(objects, 'ServiceMonitor');
    const service = findObject(objects, 'Service', 'falco-alert-receiver');

    expect(monitor.spec.selector.matchLabels).toEqual(RECEIVER_LABELS);
    expect(service.metadata.labels).toMatchObject(RECEIVER_LABELS);
    expect(monitor.spec.namespaceSelector.matchNames).toEqual([service.metadata.namespace]);
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
  });

  it('alerts on an absent receiver, a silent sensor, a sensor clock ahead, label values counted as __overflow__, rejects, sheds, unauthorized ingest, failed TLS handshakes, a certificate or client CA near expiry, TLS files not reloaded, a stuck worker, workers unavailable, a Redis master alone, a Redis store down, dropping or unconfirmed, and missed canaries', () => {
    const rules = findObject(objects, 'PrometheusRule').spec.groups.flatMap(
      (group: { rules: unknown[] }) => group.rules,
    ) as Array<{ alert: string; expr: string }>;
    const exprOf = (name: string) => rules.find((rule) => rule.alert === name)?.expr ?? '';

    expect(rules.map((rule) => rule.alert)).toEqual([
      'FalcoAlertReceiverAbsent',
      'FalcoSensorSilent',
      'FalcoSensorClockAhead',
      'FalcoMetricsLabelOverflow',
      'FalcoAlertsRejected',
      'FalcoAlertsShed',
      'FalcoConnectionsRefused',
      'FalcoIngestUnauthorized',
      'FalcoTlsHandshakeFailed',
      'FalcoReceiverCertificateExpiresSoon',
      'FalcoClientCaExpiresSoon',
      'FalcoTlsReloadFailed',
      'FalcoTokenReloadFailed',
      'FalcoAlertReceiverWorkerUnanswered',
      'FalcoAlertReceiverWorkersUnavailable',
      'FalcoAlertReceiverRedisReplicaMissing',
      'FalcoAlertReceiverStoreDown',
      'FalcoAlertReceiverStoreDropped',
      'FalcoAlertReceiverRedisUnconfirmedGivenUp',
      'FalcoCanaryDetectionsMissing',
      'FalcoCanaryControlReported',
    ]);
    expect(exprOf('FalcoAlertReceiverWorkerUnanswered')).toContain('falco_metrics_workers_unanswered');
    expect(exprOf('FalcoAlertReceiverWorkersUnavailable')).toContain(
      'falco_cluster_workers_desired - falco_cluster_workers_available',
    );
    expect(exprOf('FalcoAlertReceiverRedisReplicaMissing')).toContain('falco_store_replica_online');
    expect(exprOf('FalcoAlertReceiverStoreDown')).toContain('falco_store_up');
    expect(exprOf('FalcoAlertReceiverStoreDropped')).toContain('falco_store_pending_dropped_total');
    expect(exprOf('FalcoAlertReceiverRedisUnconfirmedGivenUp')).toContain(
      'falco_store_unconfirmed_given_up_total',
    );
    expect(exprOf('FalcoSensorSilent')).toContain(
      'falco_sensor_last_alert_timestamp_seconds != last_over_time(falco_sensor_last_alert_timestamp_seconds[10m] offset 10m)',
    );
    expect(exprOf('FalcoAlertsRejected')).toContain('falco_alerts_rejected_total');
    expect(exprOf('FalcoAlertsShed')).toContain('falco_ingest_shed_total');
    expect(exprOf('FalcoConnectionsRefused')).toContain('falco_http_connections_refused_total');
    expect(exprOf('FalcoTlsHandshakeFailed')).toContain('falco_tls_handshake_failures_total');
    expect(exprOf('FalcoReceiverCertificateExpiresSoon')).toContain(
      'falco_tls_certificate_expiry_timestamp_seconds',
    );
    expect(exprOf('FalcoClientCaExpiresSoon')).toContain('falco_tls_client_ca_expiry_timestamp_seconds');
    expect(exprOf('FalcoTlsReloadFailed')).toContain('falco_tls_reload_failing');
    expect(exprOf('FalcoTokenReloadFailed')).toContain('falco_token_reload_failing');
    expect(exprOf('FalcoIngestUnauthorized')).toContain('falco_ingest_unauthorized_total');
    expect(exprOf('FalcoSensorClockAhead')).toContain('falco_alert_clock_ahead_seconds_count');
    expect(exprOf('FalcoMetricsLabelOverflow')).toContain('falco_metrics_label_overflow_total');
    expect(exprOf('FalcoCanaryControlReported')).toContain('falco_trigger_controls_total{result="reported"}');
    expect(exprOf('FalcoCanaryDetectionsMissing')).toContain(
      'falco_trigger_verifications_total{result="detected"}',
    );
  });

  // FalcoAlertReceiverStoreDown, FalcoAlertReceiverStoreDropped and FalcoAlertReceiverRedisUnconfirmedGivenUp
  // were in the rule and missing from k8s/README.md's alert table, the list of what the rule fires.
  it("lists every alert of the PrometheusRule in k8s/README.md's alert table, in order, with its for", () => {
    const rules = findObject(objects, 'PrometheusRule').spec.groups.flatMap(
      (group: { rules: unknown[] }) => group.rules,
    ) as Array<{ alert?: string; for?: string }>;
    const rows = readFileSync(path.join(K8S_DIR, 'README.md'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('| Falco'))
      .map((line) => line.split('|').map((cell) => cell.trim()))
      .map((cells) => ({ alert: cells[1], for: cells[3] === '–' ? '' : cells[3] }));

    expect(rows).toEqual(
      rules.filter((rule) => rule.alert).map((rule) => ({ alert: rule.alert, for: rule.for ?? '' })),
    );
  });

  // REDIS_SENTINELS was named here and in k8s/README.md's alert table; the service reads STORE_SENTINELS.
  it("names in the rules and in k8s/README.md's alert table only variables the service reads", () => {
    const configSource = readdirSync(CONFIG_DIR)
      .map((file) => readFileSync(path.join(CONFIG_DIR, file), 'utf8'))
      .join('\n');
    const ruleText = readFileSync(
      path.join(K8S_DIR, 'components/prometheus-operator/prometheusrule.yaml'),
      'utf8',
    );
    const alertRows = readFileSync(path.join(K8S_DIR, 'README.md'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('| Falco'));
    const named = [
      ...`${ruleText}\n${alertRows.join('\n')}`.matchAll(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g),
    ].map((match) => match[0]);

    expect(named).toContain('WORKER_STUCK_TIMEOUT_MS');
    expect(named.filter((variable) => !configSource.includes(variable))).toEqual([]);
  });

  it('ships a Grafana dashboard whose queries use only metrics the service and triggers expose', () => {
    const configMap = findObject(objects, 'ConfigMap', 'falco-alert-receiver-dashboard');
    const dashboard = JSON.parse(configMap.data['falco-alert-receiver.json']) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    const exposed = new Set([
      'falco_alerts_total',
      'falco_alerts_rejected_total',
      'falco_alert_delivery_delay_seconds_bucket',
      'falco_sensor_last_alert_timestamp_seconds',
      'falco_alert_clock_ahead_seconds_count',
      'falco_trigger_verifications_total',
      'falco_trigger_detection_latency_seconds_bucket',
      'falco_ingest_shed_total',
      'falco_ingest_unauthorized_total',
      'falco_http_connections_refused_total',
      'falco_tls_handshake_failures_total',
      'falco_tls_certificate_expiry_timestamp_seconds',
      'falco_tls_client_ca_expiry_timestamp_seconds',
      'falco_tls_reload_failing',
      'falco_token_reload_failing',
      'falco_store_up',
      'falco_store_replica_online',
      'falco_store_pending_alerts',
      'falco_store_pending_dropped_total',
      'falco_store_unconfirmed_given_up_total',
      'falco_store_read_gaps_total',
    ]);
    const used = dashboard.panels.flatMap((panel) =>
      panel.targets.flatMap((target) => target.expr.match(/\bfalco_[a-z_]+/g) ?? []),
    );

    expect(configMap.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    expect(new Set(used)).toEqual(exposed);
  });
});

// README "Shutdown": the drain, the triggers' cleanup and (with Redis) the queued alerts' writes all
// end within SHUTDOWN_DELAY_MS + 2 x SHUTDOWN_TIMEOUT_MS. A kubelet that kills the pod at its grace
// period first cuts them: alerts answered 202 but queued for Redis, or a helm release left behind.
describe.skipIf(!kubectlReady)('every overlay of k8s/', () => {
  const overlays = [[], ['triggers'], ['mtls'], ['path-secret'], ['redis-store'], ['prometheus-operator']];
  overlays.push(overlays.flat());

  it.each(overlays.map((components) => [components.join(' + ') || 'the base', components]))(
    '%s: gives the pod a grace period longer than the longest shutdown, SHUTDOWN_DELAY_MS + 2 x SHUTDOWN_TIMEOUT_MS',
    async (_name, components) => {
      const objects = await renderKustomize(components as string[]);
      const pod = findObject(objects, 'Deployment').spec.template.spec;
      const container = pod.containers[0];
      // The ConfigMap's values, then the container's own `env`, which wins over envFrom.
      const literal = (container.env ?? []).filter((item: { value?: string }) => item.value !== undefined);
      const env = {
        ...(findObject(objects, 'ConfigMap', container.envFrom[0].configMapRef.name).data as Record<
          string,
          string
        >),
        ...Object.fromEntries(
          literal.map((item: { name: string; value: string }) => [item.name, item.value]),
        ),
      };
      const shutdown = envSchema.pick({ SHUTDOWN_DELAY_MS: true, SHUTDOWN_TIMEOUT_MS: true }).parse(env);

      expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(
        shutdown.SHUTDOWN_DELAY_MS + 2 * shutdown.SHUTDOWN_TIMEOUT_MS,
      );
    },
  );
});
