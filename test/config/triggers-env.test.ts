import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';

describe('trigger configuration', () => {
  it('is off by default with safe defaults', () => {
    const loaded = loadConfig({});
    expect(loaded.ok && loaded.config.triggers).toMatchObject({
      enabled: false,
      defaultBackend: 'kubernetes',
      allowed: { namespaces: ['default'], pods: [], containers: [], images: ['busybox:1.36'] },
      maxConcurrent: 1,
      eventGenerator: {
        chart: 'event-generator',
        repo: 'https://falcosecurity.github.io/charts',
        chartVersion: '0.4.0',
        version: 'v0.13',
        falcoRules: ['stable'],
        privileged: false,
      },
      canary: { intervalMinutes: 0, kind: 'shell' },
    });
  });

  it.each([
    ['TRIGGER_ALLOWED_IMAGES', 'busybox:1.36,--privileged', '"--privileged" is not an image reference'],
    ['TRIGGER_ALLOWED_NAMESPACES', 'falco-canary,-n', '"-n" is not a Kubernetes namespace name'],
    ['TRIGGER_ALLOWED_PODS', 'web-1,web 2', '"web 2" is not a Kubernetes pod name'],
    ['TRIGGER_ALLOWED_CONTAINERS', 'app,-it', '"-it" is not a Kubernetes or Docker container name'],
  ])('refuses %s items a run would pass to a command as a flag or a bad name', (name, value, problem) => {
    const loaded = loadConfig({ [name]: value });
    expect(loaded).toEqual({ ok: false, problems: [`${name}: ${problem}`] });
  });

  // Regression (review): they were held to Kubernetes' rule, so compose v1's and Docker's own
  // generated names refused to start the receiver.
  it('takes docker container names in TRIGGER_ALLOWED_CONTAINERS', () => {
    const loaded = loadConfig({ TRIGGER_ALLOWED_CONTAINERS: 'app,myproj_web_1,eager_turing,Web.2' });

    expect(loaded.ok && loaded.config.triggers.allowed.containers).toEqual([
      'app',
      'myproj_web_1',
      'eager_turing',
      'Web.2',
    ]);
  });

  it('refuses to enable triggers without a token', () => {
    const loaded = loadConfig({ TRIGGERS_ENABLED: 'true' });
    expect(loaded).toEqual({
      ok: false,
      problems: ['TRIGGER_TOKEN: required when TRIGGERS_ENABLED=true (or TRIGGER_TOKEN_FILE)'],
    });
  });

  it('reads the token from TRIGGER_TOKEN_FILE, checked as TRIGGER_TOKEN is, and refuses both set', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'trigger-token-'));
    const file = path.join(dir, 'token');
    writeFileSync(file, 'trigger-token-from-a-file-0123\n');
    const loaded = loadConfig({ TRIGGERS_ENABLED: 'true', TRIGGER_TOKEN_FILE: file });
    expect(loaded.ok && loaded.config.triggers).toMatchObject({
      token: 'trigger-token-from-a-file-0123',
      tokenFile: file,
    });

    writeFileSync(file, 'short\n');
    expect(loadConfig({ TRIGGERS_ENABLED: 'true', TRIGGER_TOKEN_FILE: file })).toEqual({
      ok: false,
      problems: ['TRIGGER_TOKEN_FILE: the token must be at least 16 characters'],
    });
    writeFileSync(file, 'trigger-token-from-a-file-0123\nanother-token-0123456789\n');
    expect(loadConfig({ TRIGGERS_ENABLED: 'true', TRIGGER_TOKEN_FILE: file })).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/^TRIGGER_TOKEN_FILE: the token must be one word/)],
    });
    expect(
      loadConfig({ TRIGGERS_ENABLED: 'true', TRIGGER_TOKEN_FILE: path.join(dir, 'missing') }),
    ).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/^TRIGGER_TOKEN_FILE: cannot read .*ENOENT/)],
    });
    expect(
      loadConfig({
        TRIGGERS_ENABLED: 'true',
        TRIGGER_TOKEN: 'trigger-token-0123456789',
        TRIGGER_TOKEN_FILE: file,
      }),
    ).toMatchObject({ ok: false, problems: ['TRIGGER_TOKEN and TRIGGER_TOKEN_FILE: set only one'] });
    // The file's token is the trigger token everywhere: a viewer token equal to it is refused too.
    writeFileSync(file, 'trigger-token-from-a-file-0123\n');
    expect(
      loadConfig({
        TRIGGERS_ENABLED: 'true',
        TRIGGER_TOKEN_FILE: file,
        VIEWER_TOKEN: 'trigger-token-from-a-file-0123',
      }),
    ).toMatchObject({
      ok: false,
      problems: [expect.stringMatching(/^TRIGGER_TOKEN: must differ from every viewer token/)],
    });
  });

  it('lists a short token and a bad backend as problems', () => {
    const loaded = loadConfig({
      TRIGGERS_ENABLED: 'true',
      TRIGGER_TOKEN: 'short',
      TRIGGER_DEFAULT_BACKEND: 'ssh',
    });
    expect(loaded.ok).toBe(false);
    const problems = loaded.ok ? [] : loaded.problems;
    expect(problems.some((p) => p.startsWith('TRIGGER_TOKEN:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('TRIGGER_DEFAULT_BACKEND:'))).toBe(true);
  });

  it('takes a canary interval in fractions of a minute down to one second', () => {
    const short = loadConfig({ TRIGGER_CANARY_INTERVAL_MINUTES: '0.05' });
    expect(short.ok && short.config.triggers.canary.intervalMinutes).toBe(0.05);
    const tooShort = loadConfig({ TRIGGER_CANARY_INTERVAL_MINUTES: '0.001' });
    expect(tooShort.ok ? [] : tooShort.problems).toEqual([
      'TRIGGER_CANARY_INTERVAL_MINUTES: must be 0 (off) or at least 1 second (0.0167) (got "0.001")',
    ]);
  });

  it('reads the rules files Falco loads as a list of stable, incubating and sandbox', () => {
    const loaded = loadConfig({ TRIGGER_FALCO_RULES: ' stable , incubating,sandbox' });
    expect(loaded.ok && loaded.config.triggers.eventGenerator.falcoRules).toEqual([
      'stable',
      'incubating',
      'sandbox',
    ]);
    const typo = loadConfig({ TRIGGER_FALCO_RULES: 'stable,sandbx' });
    expect(typo.ok ? [] : typo.problems).toEqual([
      'TRIGGER_FALCO_RULES: "sandbx" is not one of stable, incubating, sandbox',
    ]);
    const none = loadConfig({ TRIGGER_FALCO_RULES: ',' });
    expect(none.ok ? [] : none.problems).toEqual([
      'TRIGGER_FALCO_RULES: must name one or more of stable, incubating, sandbox',
    ]);
  });

  it('grants the event-generator pod privileges only when TRIGGER_EVENT_GENERATOR_PRIVILEGED says so', () => {
    const on = loadConfig({ TRIGGER_EVENT_GENERATOR_PRIVILEGED: 'true' });
    expect(on.ok && on.config.triggers.eventGenerator.privileged).toBe(true);
    const off = loadConfig({ TRIGGER_EVENT_GENERATOR_PRIVILEGED: '0' });
    expect(off.ok && off.config.triggers.eventGenerator.privileged).toBe(false);
    const typo = loadConfig({ TRIGGER_EVENT_GENERATOR_PRIVILEGED: 'yes' });
    expect(typo.ok ? [] : typo.problems).toEqual([
      expect.stringMatching(/^TRIGGER_EVENT_GENERATOR_PRIVILEGED: /),
    ]);
  });

  it('drops the repository for a local chart path and keeps lists trimmed', () => {
    const loaded = loadConfig({
      TRIGGER_EVENT_GENERATOR_CHART: './charts/event-generator',
      TRIGGER_ALLOWED_NAMESPACES: ' a , b ,',
    });
    expect(loaded.ok && loaded.config.triggers.eventGenerator.repo).toBeUndefined();
    expect(loaded.ok && loaded.config.triggers.allowed.namespaces).toEqual(['a', 'b']);
  });

  it('takes a helm post-renderer name or path, and lists one that looks like a flag', () => {
    const named = loadConfig({ TRIGGER_EVENT_GENERATOR_POST_RENDERER: 'drop-cluster-rbac' });
    const flag = loadConfig({ TRIGGER_EVENT_GENERATOR_POST_RENDERER: '--kubeconfig=/x' });

    expect(named.ok && named.config.triggers.eventGenerator.postRenderer).toBe('drop-cluster-rbac');
    expect(flag.ok ? [] : flag.problems).toEqual([
      'TRIGGER_EVENT_GENERATOR_POST_RENDERER: must be a helm plugin name or an executable path',
    ]);
  });

  it('makes the service exit non-zero before listening when triggers are enabled without a token', async () => {
    const result = await execa('node', ['--import', 'tsx', 'src/main.ts'], {
      reject: false,
      timeout: 30_000,
      env: { PATH: process.env.PATH ?? '', PORT: '0', TRIGGERS_ENABLED: 'true' },
      extendEnv: false,
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('TRIGGER_TOKEN: required when TRIGGERS_ENABLED=true');
    expect(result.stdout).not.toContain('listening');
  }, 60_000);
});
