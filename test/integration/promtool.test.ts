import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandWorks, requireComponent } from '../helpers/components.js';
import { loadFalcoSamples, postFalcoSample } from './support/falco-samples.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';

const promtoolReady = requireComponent('promtool', commandWorks('promtool', ['--version']));
const RULE_FILE = path.resolve(
  import.meta.dirname,
  '../../k8s/components/prometheus-operator/prometheusrule.yaml',
);
const DASHBOARD_FILE = path.resolve(
  import.meta.dirname,
  '../../k8s/components/prometheus-operator/dashboards/falco-alert-receiver.json',
);

/** The metric families the service defines (prom-client's default process metrics fail the lint). */
function keepOwnFamilies(exposition: string): string {
  const own = /^(# (HELP|TYPE) )?(falco_|http_request_)/;
  return `${exposition
    .split('\n')
    .filter((line) => own.test(line))
    .join('\n')}\n`;
}

/** Runs one `promtool test rules` unit test against the extracted rules; resolves to its result. */
async function testRules(dir: string, name: string, test: Record<string, unknown>) {
  const file = `${name}.yaml`;
  writeFileSync(
    path.join(dir, file),
    stringify({
      rule_files: ['rules.yaml'],
      evaluation_interval: '1m',
      tests: [{ interval: '1m', ...test }],
    }),
  );
  return execa('promtool', ['test', 'rules', file], { cwd: dir, reject: false, timeout: 30_000 });
}

describe.skipIf(!promtoolReady)('promtool', () => {
  let dir: string;
  let service: ServiceProcess;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'promtool-'));
    // The PrometheusRule's spec.groups is a plain Prometheus rule file.
    const rule = parse(readFileSync(RULE_FILE, 'utf8')) as { spec: { groups: unknown[] } };
    writeFileSync(path.join(dir, 'rules.yaml'), stringify({ groups: rule.spec.groups }));
    service = await startServiceProcess();
  });
  afterAll(async () => {
    await service?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("finds no lint problem in the service's own metrics after it took and refused alerts", async () => {
    for (const sample of loadFalcoSamples()) await postFalcoSample(`${service.baseUrl}/alerts`, sample);
    const exposition = await (await fetch(`${service.baseUrl}/metrics`)).text();
    const own = keepOwnFamilies(exposition);

    const result = await execa('promtool', ['check', 'metrics'], {
      input: own,
      reject: false,
      timeout: 30_000,
    });

    expect(own).toContain('falco_alerts_total{');
    expect(own).toContain('falco_alerts_rejected_total{');
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });

  it("accepts the PrometheusRule's rules", async () => {
    const result = await execa('promtool', ['check', 'rules', path.join(dir, 'rules.yaml')], {
      reject: false,
      timeout: 30_000,
    });

    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain('SUCCESS: 21 rules found');
  });

  it('parses every query of the Grafana dashboard', async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as {
      panels: Array<{ targets: Array<{ expr: string }> }>;
    };
    // Grafana's range variables as a range promtool reads; each query a recording rule to check.
    const rules = dashboard.panels
      .flatMap((panel) => panel.targets)
      .map(({ expr }, i) => ({
        record: `dashboard_query_${i}`,
        expr: expr.replace(/\$__(rate_interval|range)/g, '5m'),
      }));
    writeFileSync(path.join(dir, 'dashboard.yaml'), stringify({ groups: [{ name: 'dashboard', rules }] }));

    const result = await execa('promtool', ['check', 'rules', path.join(dir, 'dashboard.yaml')], {
      reject: false,
      timeout: 30_000,
    });

    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(rules.length).toBe(24);
  });

  const falcoPod = (name: string, node: string) =>
    `kube_pod_info{namespace="falco",created_by_kind="DaemonSet",pod="${name}",node="${node}"}`;
  /** FalcoSensorSilent evaluated at `evalTime`, firing for each hostname, last heard `ago` before by the receiver. */
  const sensorsSilentAt = (evalTime: string, ...silent: Array<{ hostname: string; ago: string }>) => ({
    eval_time: evalTime,
    alertname: 'FalcoSensorSilent',
    exp_alerts: silent.map(({ hostname, ago }) => ({
      exp_labels: { severity: 'warning', hostname },
      exp_annotations: {
        summary: `Falco sensor ${hostname} silent for 10 minutes`,
        description: `No alert from ${hostname} received in the last 10 minutes (the last ${ago} ago by the receiver's clock). Check the Falco pod on that node and its http_output.`,
      },
    })),
  });

  it('fires FalcoSensorSilent for a running sensor quiet for over 10 minutes, not for a chatty one nor one that is gone', async () => {
    const result = await testRules(dir, 'sensor-test', {
      input_series: [
        // Last alert at t=0, never again; node-b sends one every minute (chart 9.x: node names).
        { series: 'falco_sensor_last_alert_timestamp_seconds{hostname="node-a"}', values: '0x20' },
        { series: 'falco_sensor_last_alert_timestamp_seconds{hostname="node-b"}', values: '0+60x20' },
        { series: falcoPod('falco-aaaaa', 'node-a'), values: '1x20' },
        { series: falcoPod('falco-bbbbb', 'node-b'), values: '1x20' },
        // Chart 3.x (pod names): falco-old was replaced by falco-new, which keeps sending.
        { series: 'falco_sensor_last_alert_timestamp_seconds{hostname="falco-old"}', values: '0x20' },
        { series: 'falco_sensor_last_alert_timestamp_seconds{hostname="falco-new"}', values: '0+60x20' },
        { series: falcoPod('falco-new', 'node-c'), values: '1x20' },
        // node-d was removed from the cluster: no Falco pod runs there any more.
        { series: 'falco_sensor_last_alert_timestamp_seconds{hostname="node-d"}', values: '0x20' },
      ],
      alert_rule_test: [sensorsSilentAt('9m'), sensorsSilentAt('15m', { hostname: 'node-a', ago: '15m 0s' })],
    });

    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  });

  it("fires FalcoSensorSilent by the receiver's timestamps changing, not by Prometheus' clock: receivers behind or ahead, a sensor moved to another pod", async () => {
    const last = (hostname: string, receiver: string) =>
      `falco_sensor_last_alert_timestamp_seconds{hostname="${hostname}",pod="${receiver}"}`;
    const result = await testRules(dir, 'sensor-skew-test', {
      input_series: [
        // A receiver whose node clock runs 15 minutes behind Prometheus': node-a sends every minute.
        { series: last('node-a', 'receiver-behind'), values: '-900+60x30' },
        // One whose clock runs 15 minutes ahead: node-b's last alert came at Prometheus' minute 2.
        { series: last('node-b', 'receiver-ahead'), values: '900x1 1020x28' },
        // node-c's connection moved at minute 12 from one receiver pod to another, which (15
        // minutes behind the first) stamps its alerts lower than the first's last.
        { series: last('node-c', 'receiver-old'), values: '0+60x11 660x18' },
        { series: last('node-c', 'receiver-new'), values: '_x12 -180+60x17' },
        // A receiver's clock stepped back 19 minutes at minute 14 while node-d kept sending.
        { series: last('node-d', 'receiver-stepped'), values: '0+60x13 -360+60x15' },
        ...['a', 'b', 'c', 'd'].map((node) => ({
          series: falcoPod(`falco-${node}`, `node-${node}`),
          values: '1x30',
        })),
      ],
      alert_rule_test: [
        // node-b: its receiver's clock says 3 minutes; how long ago is the receiver's word.
        sensorsSilentAt('20m', { hostname: 'node-b', ago: '3m 0s' }),
        // node-c's old receiver pod has stood still for 10 minutes; the new one's timestamps move.
        sensorsSilentAt('25m', { hostname: 'node-b', ago: '8m 0s' }),
      ],
    });

    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  });

  // A failed scrape marks the receiver's series stale at once: both rules stopped firing for that
  // minute, but the comparison with 10 minutes before (x offset 10m) saw the gap again 10 minutes
  // later, calling a silent sensor new (resolved and fired again) and a sending one unchanged.
  it('fires FalcoSensorSilent through a failed scrape of the receiver, and 10 minutes after it, for a silent sensor only', async () => {
    const last = (hostname: string) =>
      `falco_sensor_last_alert_timestamp_seconds{hostname="${hostname}",pod="receiver"}`;
    const result = await testRules(dir, 'sensor-stale-test', {
      input_series: [
        // The receiver's scrape at minute 12 failed: node-a silent since 0, node-b sending.
        { series: last('node-a'), values: '0x11 stale 0x20' },
        { series: last('node-b'), values: '0+60x11 stale 780+60x20' },
        ...['a', 'b'].map((node) => ({ series: falcoPod(`falco-${node}`, `node-${node}`), values: '1x35' })),
      ],
      alert_rule_test: [
        sensorsSilentAt('11m', { hostname: 'node-a', ago: '11m 0s' }),
        sensorsSilentAt('12m'),
        ...[13, 21, 22, 23, 25].map((minute) =>
          sensorsSilentAt(`${minute}m`, { hostname: 'node-a', ago: `${minute}m 0s` }),
        ),
      ],
    });

    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  });

  it('fires FalcoSensorClockAhead for alerts stamped ahead in the last 10 minutes, also on a series that is new, and resolves', async () => {
    const firing = (source: string) => ({
      exp_labels: { severity: 'warning', source },
      exp_annotations: {
        summary: `Falco alerts (${source}) stamped ahead of the receiver's clock`,
        description: `In the last 10 minutes, ${source} alerts were stamped 1 s or more after the receiver got them: a sensor's clock runs ahead. Their falco_alert log lines carry clockAheadSeconds and the hostname; check time sync on that node.`,
      },
    });
    const result = await testRules(dir, 'clock-ahead-test', {
      input_series: [
        // The receiver's series from 0, then one alert stamped ahead at minute 11.
        { series: 'falco_alert_clock_ahead_seconds_count{source="k8s_audit"}', values: '0x10 1x30' },
        // A series first scraped at minute 11 already counting 3 (a new pod whose first alerts of
        // that source were stamped ahead): no increase() sees it, the second term does.
        { series: 'falco_alert_clock_ahead_seconds_count{source="syscall"}', values: '_x11 3x30' },
        // Counted long ago, nothing since.
        { series: 'falco_alert_clock_ahead_seconds_count{source="aws_cloudtrail"}', values: '5x40' },
      ],
      alert_rule_test: [
        { eval_time: '10m', alertname: 'FalcoSensorClockAhead', exp_alerts: [] },
        {
          eval_time: '15m',
          alertname: 'FalcoSensorClockAhead',
          exp_alerts: [firing('k8s_audit'), firing('syscall')],
        },
        // Ten minutes after the last ones, it resolves.
        { eval_time: '25m', alertname: 'FalcoSensorClockAhead', exp_alerts: [] },
      ],
    });

    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  });

  it('fires FalcoMetricsLabelOverflow for each capped label that counted __overflow__ in the last 10 minutes, also on a pod that is new, not for a cap not reached, and resolves once nothing more is folded', async () => {
    const overflow = (metric: string, label: string, pod: string) =>
      `falco_metrics_label_overflow_total{metric="${metric}",label="${label}",pod="${pod}"}`;
    const firing = (metric: string, label: string) => ({
      exp_labels: { severity: 'warning', metric, label },
      exp_annotations: {
        summary: `${metric}: ${label} values counted as __overflow__`,
        description: `In the last 10 minutes ${label} values of ${metric} were counted as __overflow__: the label's cap of distinct values (METRICS_MAX_RULES, METRICS_MAX_SOURCES, METRICS_MAX_HOSTNAMES or METRICS_MAX_EXTRA_LABEL_VALUES) is full until the pod restarts, so counts by ${label} no longer show new values (a new rule, source or sensor). The caps are first-come: if the values taking them are junk (see the falco_alert log lines), restrict who can post (NetworkPolicy, mTLS or the path secret) and restart the pods; if they are real, raise the cap.`,
      },
    });
    const result = await testRules(dir, 'label-overflow-test', {
      input_series: [
        // pod-a: made-up rule names fill the rule cap at minute 6; its source cap stays below.
        { series: overflow('falco_alerts_total', 'rule', 'pod-a'), values: '0x5 40x30' },
        { series: overflow('falco_alerts_total', 'source', 'pod-a'), values: '0x35' },
        // pod-b, first scraped at minute 6, had already folded hostnames (no increase() sees it).
        {
          series: overflow('falco_sensor_last_alert_timestamp_seconds', 'hostname', 'pod-b'),
          values: '_x6 3x30',
        },
      ],
      alert_rule_test: [
        { eval_time: '5m', alertname: 'FalcoMetricsLabelOverflow', exp_alerts: [] },
        {
          eval_time: '8m',
          alertname: 'FalcoMetricsLabelOverflow',
          exp_alerts: [
            firing('falco_alerts_total', 'rule'),
            firing('falco_sensor_last_alert_timestamp_seconds', 'hostname'),
          ],
        },
        // Ten minutes with nothing more folded: it resolves.
        { eval_time: '20m', alertname: 'FalcoMetricsLabelOverflow', exp_alerts: [] },
      ],
    });

    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  });

  // Each is an alert lost (Falco does not send it again), so none waits: firing for the one
  // reason counted from minute 6, not for the other, and resolved 10 minutes later.
  it.each([
    {
      alertname: 'FalcoAlertsRejected',
      counter: 'falco_alerts_rejected_total',
      // A sensor left at json_output: false on a quiet node: a few alerts, then nothing (a review
      // saw the rule's former `for: 10m` never fire for refusals 11 minutes or more apart).
      reason: 'unsupported_media_type',
      quietReason: 'unknown_path',
      summary: 'Falco alerts rejected (unsupported_media_type)',
      description:
        "Ingest requests were refused in the last 10 minutes (unsupported_media_type): Falco does not send them again, so a sensor's alerts refused this way are lost (unsupported_media_type: json_output is false; unknown_path: a URL typo). See the receiver's alert_rejected log lines for the caller, the path and the fields.",
    },
    {
      alertname: 'FalcoAlertsShed',
      counter: 'falco_ingest_shed_total',
      // Four requests shed by one address's share; none by the budget as a whole.
      reason: 'inflight_bytes_per_address',
      quietReason: 'inflight_bytes',
      summary: 'Falco alerts shed by the receiver (inflight_bytes_per_address)',
      description:
        "Ingest requests were answered 503 and not accepted in the last 10 minutes (inflight_bytes_per_address): Falco does not send them again, so those alerts are lost. See the receiver's ingest_shed log lines for the caller; raise the INGEST_MAX_INFLIGHT_* bound the reason names if the callers are sensors (store_pending_full: Redis writes slower than alerts arrive, and STORE_PENDING_MAX or STORE_MAX_BYTES is full of alerts whose answers wait).",
    },
    {
      alertname: 'FalcoConnectionsRefused',
      counter: 'falco_http_connections_refused_total',
      // One address holding its share of connections; the listener as a whole not at its cap.
      reason: 'max_connections_per_address',
      quietReason: 'max_connections',
      summary: 'Connections refused by the receiver (max_connections_per_address)',
      description:
        "Connections were refused or closed by the receiver's connection caps in the last 10 minutes (max_connections_per_address): on the ingest port an alert sent on one is lost (Falco does not send it again); on ADMIN_PORT a reader was refused. See the receiver's connection_refused log lines for the caller; raise SERVER_MAX_CONNECTIONS_PER_ADDRESS or SERVER_MAX_CONNECTIONS if the callers are sensors.",
    },
    {
      alertname: 'FalcoIngestUnauthorized',
      counter: 'falco_ingest_unauthorized_total',
      // A sensor posting to plain /alerts with the path secret set; no certificate refused.
      reason: 'path_secret',
      quietReason: 'client_cert',
      summary: 'Falco alerts refused as unauthorized (path_secret)',
      description:
        "Ingest requests were answered 401 in the last 10 minutes (path_secret): a sensor's http_output URL or client certificate does not match the receiver's, and its alerts are lost. See the receiver's ingest_unauthorized log lines for the caller.",
    },
    {
      alertname: 'FalcoTlsHandshakeFailed',
      counter: 'falco_tls_handshake_failures_total',
      // A sensor whose client certificate expired; nothing sent plain HTTP to the TLS port.
      reason: 'client_cert',
      quietReason: 'handshake',
      summary: 'TLS handshakes with the receiver failed (client_cert)',
      description:
        "Connections failed the receiver's TLS handshake in the last 10 minutes (client_cert): a sensor whose client certificate is missing, expired or not signed by TLS_CLIENT_CA_FILE (client_cert), whose ca_cert does not trust the receiver's certificate (server_cert), or whose http_output URL says http:// for the TLS port (handshake) loses its alerts. See the receiver's tls_handshake_failed log lines for the caller and the code.",
    },
  ])(
    'fires $alertname at once for each reason $counter counted in the last 10 minutes, and resolves',
    async ({ alertname, counter, reason, quietReason, summary, description }) => {
      const result = await testRules(dir, `${alertname}-test`, {
        input_series: [
          { series: `${counter}{reason="${reason}"}`, values: '0x5 4x30' },
          { series: `${counter}{reason="${quietReason}"}`, values: '0x35' },
        ],
        alert_rule_test: [
          { eval_time: '5m', alertname, exp_alerts: [] },
          {
            eval_time: '7m',
            alertname,
            exp_alerts: [
              { exp_labels: { severity: 'warning', reason }, exp_annotations: { summary, description } },
            ],
          },
          { eval_time: '20m', alertname, exp_alerts: [] },
        ],
      });

      expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
    },
  );

  it('does not fire FalcoConnectionsRefused for lingering connections closed at a cap to let a new one in', async () => {
    // Only answers already written are given up there, and the newcomer is admitted: no alert is lost.
    const result = await testRules(dir, 'lingering-test', {
      input_series: [
        { series: 'falco_http_connections_refused_total{reason="lingering"}', values: '0x5 4x30' },
      ],
      alert_rule_test: [{ eval_time: '7m', alertname: 'FalcoConnectionsRefused', exp_alerts: [] }],
    });

    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  });

  it('fires FalcoAlertReceiverWorkerUnanswered for a pod whose worker missed scrapes for 5 minutes, not for a blip', async () => {
    const result = await testRules(dir, 'worker-test', {
      input_series: [
        // pod-a: one worker stops answering at minute 2 and stays stuck; pod-b: one scrape missed.
        { series: 'falco_metrics_workers_unanswered{pod="pod-a"}', values: '0 0 1x20' },
        { series: 'falco_metrics_workers_unanswered{pod="pod-b"}', values: '0 0 1 0x20' },
      ],
      alert_rule_test: [
        { eval_time: '5m', alertname: 'FalcoAlertReceiverWorkerUnanswered', exp_alerts: [] },
        {
          eval_time: '10m',
          alertname: 'FalcoAlertReceiverWorkerUnanswered',
          exp_alerts: [
            {
              exp_labels: { severity: 'warning', pod: 'pod-a' },
              exp_annotations: {
                summary: 'falco-alert-receiver pod-a: a worker is not answering',
                description:
                  '1 worker(s) of pod-a did not hand over their metrics within 2 s for 5 minutes (a loop too busy to answer, or stuck with WORKER_STUCK_TIMEOUT_MS=0; or their collection failed, see worker_metrics_collect_failed): their counts are frozen and the alerts sent to them may wait.',
              },
            },
          ],
        },
      ],
    });

    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  });

  it('fires FalcoAlertReceiverWorkersUnavailable for a pod with a worker fewer than WORKERS for 5 minutes, not for a worker replaced, and resolves', async () => {
    const workers = (pod: string, available: string) => [
      { series: `falco_cluster_workers_desired{pod="${pod}"}`, values: '2x30' },
      { series: `falco_cluster_workers_available{pod="${pod}"}`, values: available },
    ];
    const result = await testRules(dir, 'workers-unavailable-test', {
      input_series: [
        // pod-a: a replacement refused from minute 2 to 19; pod-b: a worker replaced within a minute.
        ...workers('pod-a', '2 2 1x17 2x10'),
        ...workers('pod-b', '2 2 1 2x27'),
      ],
      alert_rule_test: [
        { eval_time: '5m', alertname: 'FalcoAlertReceiverWorkersUnavailable', exp_alerts: [] },
        {
          eval_time: '10m',
          alertname: 'FalcoAlertReceiverWorkersUnavailable',
          exp_alerts: [
            {
              exp_labels: { severity: 'warning', pod: 'pod-a' },
              exp_annotations: {
                summary: 'falco-alert-receiver pod-a: a worker is not serving',
                description:
                  'pod-a has served with 1 worker(s) fewer than WORKERS for 5 minutes: a replacement keeps exiting before its listeners are up (falco_cluster_worker_start_failures_total), and the workers left take all the load. The log line before each worker_start_failed says why: tls_files_refused (changed TLS files the workers up do not load, see FalcoTlsReloadFailed; it starts once files that load are mounted) or worker_config_invalid (a file the configuration names no longer passes its checks).',
              },
            },
          ],
        },
        { eval_time: '25m', alertname: 'FalcoAlertReceiverWorkersUnavailable', exp_alerts: [] },
      ],
    });

    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  });

  it('fires FalcoAlertReceiverRedisReplicaMissing for a pod whose Redis master had no replica for 10 minutes, not for a failover', async () => {
    const result = await testRules(dir, 'replica-test', {
      input_series: [
        // pod-a: the replica goes at minute 2 and stays away; pod-b: gone for 3 minutes (a failover).
        { series: 'falco_store_replica_online{pod="pod-a"}', values: '1 1 0x20' },
        { series: 'falco_store_replica_online{pod="pod-b"}', values: '1 1 0 0 0 1x20' },
      ],
      alert_rule_test: [
        { eval_time: '8m', alertname: 'FalcoAlertReceiverRedisReplicaMissing', exp_alerts: [] },
        {
          eval_time: '15m',
          alertname: 'FalcoAlertReceiverRedisReplicaMissing',
          exp_alerts: [
            {
              exp_labels: { severity: 'warning', pod: 'pod-a' },
              exp_annotations: {
                summary: 'falco-alert-receiver pod-a: the Redis master has no replica online',
                description:
                  'For 10 minutes no Redis replica has confirmed the alerts pod-a writes: they are on the master alone, and a failover now would lose them. See its store_no_replica log line and the Sentinel setup.',
              },
            },
          ],
        },
      ],
    });

    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  });

  it('fires FalcoAlertReceiverStoreDown for a pod that has not reached Redis for 2 minutes, not for a blip', async () => {
    const result = await testRules(dir, 'store-down-test', {
      input_series: [
        { series: 'falco_store_up{pod="pod-a"}', values: '1 1 0x10' },
        { series: 'falco_store_up{pod="pod-b"}', values: '1 1 0 1x10' },
      ],
      alert_rule_test: [
        { eval_time: '3m', alertname: 'FalcoAlertReceiverStoreDown', exp_alerts: [] },
        {
          eval_time: '6m',
          alertname: 'FalcoAlertReceiverStoreDown',
          exp_alerts: [
            {
              exp_labels: { severity: 'warning', pod: 'pod-a' },
              exp_annotations: {
                summary: 'falco-alert-receiver pod-a: the shared Redis store is unreachable',
                description:
                  "pod-a has not reached Redis for 2 minutes: its alerts are logged and queued (up to STORE_PENDING_MAX) but missing from every replica's lists, live streams and trigger verification until Redis is back. See its store_down log line.",
              },
            },
          ],
        },
      ],
    });

    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  });

  it('fires FalcoReceiverCertificateExpiresSoon for a pod whose TLS certificate expires within 7 days, and resolves once a renewal is loaded', async () => {
    const sevenDays = 7 * 86_400;
    const result = await testRules(dir, 'certificate-expiry-test', {
      input_series: [
        // pod-a serves a certificate expiring 7 days less an hour from the start, until a renewal
        // of 90 days loads at minute 20; pod-b's has 30 days left.
        {
          series: 'falco_tls_certificate_expiry_timestamp_seconds{pod="pod-a"}',
          values: `${sevenDays - 3600}x19 ${90 * 86_400}x10`,
        },
        {
          series: 'falco_tls_certificate_expiry_timestamp_seconds{pod="pod-b"}',
          values: `${30 * 86_400}x30`,
        },
      ],
      alert_rule_test: [
        { eval_time: '5m', alertname: 'FalcoReceiverCertificateExpiresSoon', exp_alerts: [] },
        {
          eval_time: '15m',
          alertname: 'FalcoReceiverCertificateExpiresSoon',
          exp_alerts: [
            {
              exp_labels: { severity: 'warning', pod: 'pod-a' },
              exp_annotations: {
                summary: 'falco-alert-receiver pod-a: TLS certificate expires within 7 days',
                description:
                  "The certificate pod-a serves on TLS_PORT expires in 6d 22h 45m 0s: at expiry every sensor's handshake fails (server_cert) and its alerts are lost. Renew the Secret behind TLS_CERT_FILE; the receiver loads it without a restart (see its tls_reloaded or tls_reload_failed log lines).",
              },
            },
          ],
        },
        { eval_time: '21m', alertname: 'FalcoReceiverCertificateExpiresSoon', exp_alerts: [] },
      ],
    });

    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  });

  it('fires FalcoClientCaExpiresSoon for a pod whose client CA bundle holds a CA expiring within 14 days, and resolves once it is taken out', async () => {
    const fourteenDays = 14 * 86_400;
    // Regression: an expired CA left in the bundle was said to expire "in -1d 0h 15m 0s".
    const expiredCa = (ago: string) => ({
      exp_labels: { severity: 'warning', pod: 'pod-c' },
      exp_annotations: {
        summary: 'falco-alert-receiver pod-c: a client CA has expired',
        description: `A CA in pod-c's TLS_CLIENT_CA_FILE expired ${ago} ago: the sensors whose client certificates it signed fail the handshake (client_cert) and their alerts are lost. If every sensor has a certificate of a newer CA, take the expired CA out of the bundle (loaded without a restart, see tls_reloaded): until then this alert stays.`,
      },
    });
    const result = await testRules(dir, 'client-ca-expiry-test', {
      input_series: [
        // pod-a's bundle holds a CA expiring 14 days less an hour from the start (a rotation's old
        // CA), until it is taken out at minute 20 and the new CA's 2 years are the soonest; pod-b's
        // soonest CA has 60 days left.
        {
          series: 'falco_tls_client_ca_expiry_timestamp_seconds{pod="pod-a"}',
          values: `${fourteenDays - 3600}x19 ${730 * 86_400}x10`,
        },
        {
          series: 'falco_tls_client_ca_expiry_timestamp_seconds{pod="pod-b"}',
          values: `${60 * 86_400}x30`,
        },
        // pod-c's bundle still holds a CA that expired a day before the start.
        { series: 'falco_tls_client_ca_expiry_timestamp_seconds{pod="pod-c"}', values: '-86400x30' },
      ],
      alert_rule_test: [
        { eval_time: '5m', alertname: 'FalcoClientCaExpiresSoon', exp_alerts: [] },
        {
          eval_time: '15m',
          alertname: 'FalcoClientCaExpiresSoon',
          exp_alerts: [
            {
              exp_labels: { severity: 'warning', pod: 'pod-a' },
              exp_annotations: {
                summary: 'falco-alert-receiver pod-a: a client CA expires within 14 days',
                description:
                  "A CA in pod-a's TLS_CLIENT_CA_FILE expires in 13d 22h 45m 0s: from then on every sensor whose client certificate it signed fails the handshake (client_cert) and its alerts are lost. Add the new CA to the bundle before the old one expires (loaded without a restart, see tls_reloaded), reissue the sensors' client certificates under the new CA, then take the old CA out of the bundle: until then this alert stays.",
              },
            },
            expiredCa('1d 0h 15m 0s'),
          ],
        },
        { eval_time: '21m', alertname: 'FalcoClientCaExpiresSoon', exp_alerts: [expiredCa('1d 0h 21m 0s')] },
      ],
    });

    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  });

  it('fires FalcoTlsReloadFailed while changed certificate files have not loaded for 5 minutes, not for a renewal loaded at the next check, and resolves once they load', async () => {
    const firing = {
      exp_labels: { severity: 'warning', pod: 'pod-a' },
      exp_annotations: {
        summary: 'falco-alert-receiver pod-a: changed TLS certificate files do not load',
        description:
          "pod-a's TLS certificate files changed and have not loaded for 5 minutes; it keeps serving the certificate and client CA it had, and sensors lose their alerts once that certificate expires (FalcoReceiverCertificateExpiresSoon). Its tls_reload_failed log line says why: a key that is not the certificate's, a file missing, a certificate expired or not valid yet, a client CA bundle with no CA valid now. Fix the Secret behind TLS_CERT_FILE, TLS_KEY_FILE and TLS_CLIENT_CA_FILE (openssl x509 -noout -dates -in tls.crt); a set that loads is served without a restart (tls_reloaded) and the alert resolves. Do not restart the pod before: a key that is not the certificate's, a file missing, or a client CA bundle OpenSSL does not wholly read stops it from starting, and the start does not refuse files for their dates (it warns, tls_files_not_valid), so it would serve a certificate expired or not valid yet, or a client CA bundle with no CA valid now, and every sensor's handshake would fail (with WORKERS > 1 a worker replaced meanwhile does not serve them while another is up: it is tried again until the files load).",
      },
    };
    const result = await testRules(dir, 'tls-reload-test', {
      input_series: [
        // pod-a: files that do not load from minute 5 to 29 (its failure counted once, at 5).
        { series: 'falco_tls_reload_failing{pod="pod-a"}', values: '0x4 1x24 0x10' },
        // pod-b: a renewal caught half written at minute 5, loaded at the next check.
        { series: 'falco_tls_reload_failing{pod="pod-b"}', values: '0x4 1 0x34' },
      ],
      alert_rule_test: [
        { eval_time: '7m', alertname: 'FalcoTlsReloadFailed', exp_alerts: [] },
        { eval_time: '11m', alertname: 'FalcoTlsReloadFailed', exp_alerts: [firing] },
        // Still failing 20 minutes on: the alert stays (an increase over 15 minutes had resolved).
        { eval_time: '25m', alertname: 'FalcoTlsReloadFailed', exp_alerts: [firing] },
        { eval_time: '31m', alertname: 'FalcoTlsReloadFailed', exp_alerts: [] },
      ],
    });

    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  });

  it('fires FalcoTokenReloadFailed per file while a changed token file has been refused for 5 minutes, and resolves once one loads', async () => {
    const firing = {
      exp_labels: { severity: 'warning', pod: 'pod-a', file: 'VIEWER_TOKEN_FILE' },
      exp_annotations: {
        summary: 'falco-alert-receiver pod-a: changed VIEWER_TOKEN_FILE is refused',
        description:
          "pod-a's VIEWER_TOKEN_FILE changed and has been refused for 5 minutes: the tokens or secrets it had stay in force, a token removed from the Secret among them, and a token added is refused. Its token_reload_failed log line says why (a token under 16 characters or a session key under 32, the trigger token among the viewer or /metrics tokens, an empty or unreadable file). Fix the Secret; a file that loads is read without a restart (token_reloaded) and the alert resolves.",
      },
    };
    const result = await testRules(dir, 'token-reload-test', {
      input_series: [
        // pod-a: the viewer file refused from minute 5 to 29; its /metrics file fine throughout.
        {
          series: 'falco_token_reload_failing{pod="pod-a",file="VIEWER_TOKEN_FILE"}',
          values: '0x4 1x24 0x10',
        },
        { series: 'falco_token_reload_failing{pod="pod-a",file="METRICS_TOKEN_FILE"}', values: '0x39' },
        // pod-b: a Secret caught half written at minute 5, read at the next check.
        { series: 'falco_token_reload_failing{pod="pod-b",file="VIEWER_TOKEN_FILE"}', values: '0x4 1 0x34' },
      ],
      alert_rule_test: [
        { eval_time: '7m', alertname: 'FalcoTokenReloadFailed', exp_alerts: [] },
        { eval_time: '11m', alertname: 'FalcoTokenReloadFailed', exp_alerts: [firing] },
        { eval_time: '25m', alertname: 'FalcoTokenReloadFailed', exp_alerts: [firing] },
        { eval_time: '31m', alertname: 'FalcoTokenReloadFailed', exp_alerts: [] },
      ],
    });

    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  });
  it('fires FalcoAlertReceiverStoreDropped and FalcoAlertReceiverRedisUnconfirmedGivenUp while their counters grow, also on a pod new with drops, and resolves', async () => {
    const result = await testRules(dir, 'store-loss-test', {
      input_series: [
        // 300 dropped between minutes 2 and 3, then none; 50 given up at minute 2; a pod new at
        // minute 2 (restarted while Redis was away) whose first scrape had 40 dropped already.
        { series: 'falco_store_pending_dropped_total{pod="pod-a"}', values: '0 0 0 300x30' },
        { series: 'falco_store_pending_dropped_total{pod="pod-c"}', values: '_ _ 40x31' },
        { series: 'falco_store_unconfirmed_given_up_total{pod="pod-b"}', values: '0 0 50x30' },
        { series: 'falco_store_pending_dropped_total{pod="pod-b"}', values: '0x33' },
      ],
      alert_rule_test: [
        {
          eval_time: '5m',
          alertname: 'FalcoAlertReceiverStoreDropped',
          exp_alerts: [
            {
              exp_labels: { severity: 'warning', pod: 'pod-a' },
              exp_annotations: {
                summary: 'falco-alert-receiver pod-a dropped alerts it could not write to Redis',
                description:
                  '300 alerts accepted by pod-a in the last 10 minutes were dropped from its queue for the shared store (STORE_PENDING_MAX or STORE_MAX_BYTES): they are only in its log lines (store_pending_dropped names the oldest).',
              },
            },
            {
              exp_labels: { severity: 'warning', pod: 'pod-c' },
              exp_annotations: {
                summary: 'falco-alert-receiver pod-c dropped alerts it could not write to Redis',
                description:
                  '40 alerts accepted by pod-c in the last 10 minutes were dropped from its queue for the shared store (STORE_PENDING_MAX or STORE_MAX_BYTES): they are only in its log lines (store_pending_dropped names the oldest).',
              },
            },
          ],
        },
        {
          eval_time: '5m',
          alertname: 'FalcoAlertReceiverRedisUnconfirmedGivenUp',
          exp_alerts: [
            {
              exp_labels: { severity: 'warning', pod: 'pod-b' },
              exp_annotations: {
                summary: 'falco-alert-receiver pod-b: alerts not every Redis replica confirmed are at risk',
                description:
                  "50 alerts pod-b wrote in the last 10 minutes were not confirmed by every replica and are no longer kept to write again after a failover: a failover now may lose them. Check the Redis replicas' lag (store_unconfirmed_given_up).",
              },
            },
          ],
        },
        { eval_time: '25m', alertname: 'FalcoAlertReceiverStoreDropped', exp_alerts: [] },
        { eval_time: '25m', alertname: 'FalcoAlertReceiverRedisUnconfirmedGivenUp', exp_alerts: [] },
      ],
    });

    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  });

  it('fires FalcoCanaryDetectionsMissing when canaries were verified but none detected', async () => {
    const result = await testRules(dir, 'canary-test', {
      input_series: [
        { series: 'falco_trigger_verifications_total{kind="shell",result="missed"}', values: '0+1x90' },
        { series: 'falco_trigger_verifications_total{kind="shell",result="detected"}', values: '0x90' },
        {
          series: 'falco_trigger_verifications_total{kind="event-generator",result="detected"}',
          values: '0+1x90',
        },
      ],
      alert_rule_test: [
        {
          eval_time: '80m',
          alertname: 'FalcoCanaryDetectionsMissing',
          exp_alerts: [
            {
              exp_labels: { severity: 'critical', kind: 'shell' },
              exp_annotations: {
                summary: 'Falco missed every shell canary in the last hour',
                description:
                  'Trigger runs of kind shell were verified but no matching Falco alert arrived: detection or delivery is broken.',
              },
            },
          ],
        },
      ],
    });

    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  });

  it('fires FalcoCanaryControlReported for an hour after a negative control was reported, not before', async () => {
    const result = await testRules(dir, 'control-test', {
      input_series: [
        { series: 'falco_trigger_controls_total{result="quiet"}', values: '0+1x90' },
        // One control reported at minute 10.
        { series: 'falco_trigger_controls_total{result="reported"}', values: '0x9 1x80' },
      ],
      alert_rule_test: [
        { eval_time: '9m', alertname: 'FalcoCanaryControlReported', exp_alerts: [] },
        {
          eval_time: '15m',
          alertname: 'FalcoCanaryControlReported',
          exp_alerts: [
            {
              exp_labels: { severity: 'warning' },
              exp_annotations: {
                summary: 'A negative-control trigger run was reported as detected',
                description:
                  'In the last hour a shell run without a terminal ({"terminal": false}) was matched to a "Terminal shell in container" alert: trigger verification or the Falco rule is wrong, so canary verdicts cannot be trusted. See GET /triggers for the run and its alertId.',
              },
            },
          ],
        },
        { eval_time: '75m', alertname: 'FalcoCanaryControlReported', exp_alerts: [] },
      ],
    });

    expect(result.exitCode, `${result.stdout}\n${result.stderr}`).toBe(0);
  });
});
