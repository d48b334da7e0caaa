import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findOutputErrors, parseFalcoSummary } from '../helpers/falco-process.js';
import {
  buildFalcoArgs,
  falcoEnv,
  findFalcoRuntimes,
  SKIP_BPF_SHIM,
  type FalcoRuntime,
} from '../helpers/falco-runtime.js';

const runtime = (version: string): FalcoRuntime => ({
  bin: '/x/bin/falco',
  version,
  config: '/x/etc/falco/falco.yaml',
  rules: ['/x/etc/falco/falco_rules.yaml'],
});

describe('Falco argv for the e2e suite', () => {
  it('opens the modern eBPF probe the way each version spells it', () => {
    expect(buildFalcoArgs(runtime('0.34.1'), { url: 'http://127.0.0.1:1/alerts' })).toContain('--modern-bpf');
    const args = buildFalcoArgs(runtime('0.40.0'), { url: 'http://127.0.0.1:1/alerts' });
    expect(args).not.toContain('--modern-bpf');
    expect(args).toContain('engine.kind=modern_ebpf');
  });

  it('sends JSON with output and tags to the URL, with the user agent and mTLS files given', () => {
    const args = buildFalcoArgs(runtime('0.40.0'), {
      url: 'https://127.0.0.1:9/alerts',
      userAgent: 'ua/1',
      mtls: { cert: 'c.crt', key: 'c.key', ca: 'ca.crt' },
    });
    for (const option of [
      'json_output=true',
      'json_include_output_property=true',
      'json_include_tags_property=true',
      'http_output.url=https://127.0.0.1:9/alerts',
      'http_output.user_agent=ua/1',
      'http_output.mtls=true',
      'http_output.client_cert=c.crt',
      'http_output.client_key=c.key',
      'http_output.ca_cert=ca.crt',
      'webserver.enabled=false',
    ])
      expect(args).toContain(option);
  });

  it('applies more options after its own, so a later one overrides a default', () => {
    const args = buildFalcoArgs(runtime('0.40.0'), {
      url: 'http://127.0.0.1:1/alerts',
      options: ['json_include_output_property=false'],
    });
    expect(args.lastIndexOf('json_include_output_property=false')).toBeGreaterThan(
      args.indexOf('json_include_output_property=true'),
    );
  });

  it('preloads the BPF program shim for 0.35+ only, and only once it is built', () => {
    expect(falcoEnv(runtime('0.40.0'), SKIP_BPF_SHIM)).toEqual({
      LD_PRELOAD: SKIP_BPF_SHIM,
      FALCO_SKIP_BPF_PROGRAMS: 'signal_deliver',
    });
    expect(falcoEnv(runtime('0.34.1'), SKIP_BPF_SHIM)).toEqual({});
    expect(falcoEnv(runtime('0.40.0'), '/nonexistent/shim.so')).toEqual({});
  });

  it('refuses any http_output URL that is not 127.0.0.1', () => {
    for (const url of ['http://localhost:1/alerts', 'http://10.0.0.1/alerts', 'http://[::1]:1/'])
      expect(() => buildFalcoArgs(runtime('0.34.1'), { url })).toThrow(/only send to 127\.0\.0\.1/);
  });
});

describe("reading Falco's log", () => {
  const log = [
    "Mon Nov 30 23:39:46 2026: libcurl error: Couldn't connect to server",
    'Mon Nov 30 23:40:02 2026: libcurl failed to perform call: Server returned nothing (no headers, no data)',
    'Events detected: 5003',
    'Rule counts by severity:',
    '   ERROR: 5002',
    '   NOTICE: 1',
    'Triggered rules by rule name:',
    '   Write below root: 5002',
    '   Terminal shell in container: 1',
    '',
  ].join('\n');

  it('parses the counters Falco prints at shutdown', () => {
    expect(parseFalcoSummary(log)).toEqual({
      eventsDetected: 5003,
      byRule: { 'Write below root': 5002, 'Terminal shell in container': 1 },
    });
  });

  it("finds 0.34's and 0.40's http_output failures", () => {
    expect(findOutputErrors(log)).toHaveLength(2);
    expect(findOutputErrors('Opening capture with modern BPF probe.')).toEqual([]);
  });
});

describe('finding the Falcos to run', () => {
  let dir: string;
  beforeEach(() => {
    // An empty project root (no .cache/falco-*) and a `falco` on PATH that only prints its version.
    dir = mkdtempSync(join(tmpdir(), 'falco-runtimes-'));
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'falco'), '#!/bin/sh\necho "Falco version: 0.38.0"\n', { mode: 0o755 });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const env = (extra: Record<string, string>) => ({ PATH: `${join(dir, 'bin')}:/usr/bin:/bin`, ...extra });

  it('runs a falco on PATH locally when neither unpacked build is there', () => {
    const { runtimes, missing } = findFalcoRuntimes(env({}), dir);
    expect(runtimes.map((runtime) => runtime.version)).toEqual(['0.38.0']);
    expect(missing).toEqual([]);
  });

  // Regression: with CI=true a falco on PATH stood in for both builds, so 0.34.1 and 0.40.0 went untested.
  it('with CI=true, names both unpacked builds as missing instead of running a falco on PATH', () => {
    const { runtimes, missing } = findFalcoRuntimes(env({ CI: 'true' }), dir);
    expect(runtimes).toEqual([]);
    expect(missing).toHaveLength(2);
    expect(missing.join('\n')).toContain('falco-0.34.1');
    expect(missing.join('\n')).toContain('falco-0.40.0');
  });

  it('with CI=true, still runs FALCO_BIN alone when it is set', () => {
    const bin = join(dir, 'bin', 'falco');
    const { runtimes, missing } = findFalcoRuntimes(env({ CI: 'true', FALCO_BIN: bin }), dir);
    expect(runtimes.map((runtime) => runtime.bin)).toEqual([bin]);
    expect(missing).toEqual([]);
  });
});
