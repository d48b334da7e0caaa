import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FalcoAlert } from '../../src/alerts/falco-alert-schema.js';
import type { StoredAlert } from '../../src/alerts/stored-alert.js';
import { alertCarriesNonce, alertFromNamespace } from '../../src/triggers/alert-matchers.js';
import { createTriggerMetrics } from '../../src/triggers/trigger-metrics.js';
import type { TriggerRun } from '../../src/triggers/trigger-run.js';
import { createVerifier } from '../../src/triggers/verify-run.js';

const entry = (alert: Partial<FalcoAlert>, receivedAtMs: number, id = 'alert-1'): StoredAlert => ({
  id,
  rule: alert.rule ?? 'x',
  priority: alert.priority ?? 'Notice',
  receivedAt: new Date(receivedAtMs).toISOString(),
  receivedAtMs,
  timeMs: receivedAtMs,
  source: 'syscall',
  bytes: 100,
  alert: {
    rule: 'x',
    priority: 'Notice',
    time: new Date(receivedAtMs).toISOString(),
    output: '',
    ...alert,
  } as FalcoAlert,
});
const newRun = (): TriggerRun => ({
  id: 'run-1',
  kind: 'event-generator',
  status: 'running',
  createdAt: '',
  target: {},
  commands: [],
  verification: { windowMs: 0, expectations: [] },
});

afterEach(() => vi.useRealTimers());

describe('alert matchers', () => {
  it('finds the nonce in proc.cmdline, or in the output text when output_fields is absent', () => {
    expect(
      alertCarriesNonce(
        entry({ output_fields: { 'proc.cmdline': 'sh -c tty && echo falco-receiver-canary-ab12' } }, 0).alert,
        'ab12',
      ),
    ).toBe(true);
    expect(
      alertCarriesNonce(
        entry({ output: 'Notice shell ... cmdline=sh -c tty && echo falco-receiver-canary-ab12' }, 0).alert,
        'ab12',
      ),
    ).toBe(true);
    expect(alertCarriesNonce(entry({ output_fields: { 'proc.cmdline': 'bash' } }, 0).alert, 'ab12')).toBe(
      false,
    );
  });

  it('matches the namespace from k8s.ns.name, or the k8s.ns= token of older output text, exactly', () => {
    expect(
      alertFromNamespace(
        entry({ output_fields: { 'k8s.ns.name': 'falco-canary' } }, 0).alert,
        'falco-canary',
      ),
    ).toBe(true);
    expect(
      alertFromNamespace(
        entry({ output_fields: { 'k8s.ns.name': 'falco-canary-2' } }, 0).alert,
        'falco-canary',
      ),
    ).toBe(false);
    expect(
      alertFromNamespace(entry({ output: 'x k8s.ns=falco-canary k8s.pod=eg' }, 0).alert, 'falco-canary'),
    ).toBe(true);
    expect(
      alertFromNamespace(entry({ output: 'x k8s_ns_name=falco-canary-2' }, 0).alert, 'falco-canary'),
    ).toBe(false);
    expect(
      alertFromNamespace(entry({ output: 'mentions falco-canary elsewhere' }, 0).alert, 'falco-canary'),
    ).toBe(false);
  });
});

describe('createVerifier', () => {
  it('marks each expected rule detected by the first matching alert after the start, with its latency', async () => {
    const registry = new Registry();
    const verifier = createVerifier({ metrics: createTriggerMetrics(registry), windowMs: 60_000 });
    const run = newRun();
    const fromNs = (e: StoredAlert) => alertFromNamespace(e.alert, 'falco-canary');
    verifier.watch(
      run,
      [
        { rule: 'Write below etc', matches: fromNs },
        { rule: 'Write below root', matches: fromNs },
      ],
      1_000,
    );

    verifier.observeAlert(
      entry({ rule: 'Write below etc', output_fields: { 'k8s.ns.name': 'falco-canary' } }, 900, 'too-early'),
    );
    verifier.observeAlert(
      entry({ rule: 'Write below etc', output_fields: { 'k8s.ns.name': 'other' } }, 1_100, 'other-ns'),
    );
    verifier.observeAlert(
      entry({ rule: 'Write below etc', output_fields: { 'k8s.ns.name': 'falco-canary' } }, 1_250, 'good'),
    );
    verifier.observeAlert(
      entry({ rule: 'Write below etc', output_fields: { 'k8s.ns.name': 'falco-canary' } }, 1_300, 'second'),
    );

    expect(run.verification.expectations).toEqual([
      { rule: 'Write below etc', status: 'detected', alertId: 'good', latencyMs: 250 },
      { rule: 'Write below root', status: 'pending' },
    ]);
    const text = await registry.metrics();
    expect(text).toContain('falco_trigger_verifications_total{kind="event-generator",result="detected"} 1');
    expect(text).toContain('falco_trigger_detection_latency_seconds_sum{kind="event-generator"} 0.25');
    verifier.stop();
  });

  it('marks what is still pending as missed when the window ends, and counts it', async () => {
    vi.useFakeTimers();
    const registry = new Registry();
    const verifier = createVerifier({ metrics: createTriggerMetrics(registry), windowMs: 5_000 });
    const run = newRun();
    verifier.watch(run, [{ rule: 'Write below etc', matches: () => true }], Date.now());
    vi.advanceTimersByTime(4_999);
    expect(run.verification.expectations[0]?.status).toBe('pending');
    vi.advanceTimersByTime(1);
    expect(run.verification).toEqual({
      windowMs: 5_000,
      expectations: [{ rule: 'Write below etc', status: 'missed' }],
    });
    expect(await registry.metrics()).toContain(
      'falco_trigger_verifications_total{kind="event-generator",result="missed"} 1',
    );
  });

  it('marks what is pending as not_run, uncounted, when the trigger itself failed', async () => {
    vi.useFakeTimers();
    const registry = new Registry();
    const verifier = createVerifier({ metrics: createTriggerMetrics(registry), windowMs: 5_000 });
    const run = newRun();
    verifier.watch(run, [{ rule: 'Write below etc', matches: () => true }], Date.now());
    run.status = 'failed';
    vi.advanceTimersByTime(5_000);
    expect(run.verification.expectations).toEqual([{ rule: 'Write below etc', status: 'not_run' }]);
    expect(await registry.metrics()).toContain(
      'falco_trigger_verifications_total{kind="event-generator",result="missed"} 0',
    );
  });
});
