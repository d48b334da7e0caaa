import { describe, expect, it } from 'vitest';
import { GENERATOR_ACTIONS } from '../../src/triggers/data/event-generator-actions.js';
import { selectActions, selectExpectedRules } from '../../src/triggers/expected-rules.js';

describe('event-generator action data', () => {
  it('holds the 16 v0.10 and 66 v0.13 syscall actions of the reference tables', () => {
    expect(GENERATOR_ACTIONS['v0.10'].actions).toHaveLength(16);
    expect(GENERATOR_ACTIONS['v0.13'].actions).toHaveLength(66);
    expect(GENERATOR_ACTIONS['v0.13'].actions.every((a) => a.action.startsWith('syscall.'))).toBe(true);
  });
});

const STABLE_13 = { version: 'v0.13', falcoRules: ['stable'], privileged: false } as const;
const ALL_FILES = ['stable', 'incubating', 'sandbox'] as const;
const POD_10 = { version: 'v0.10', privileged: false } as const;
const POD_13 = { version: 'v0.13', privileged: false } as const;

describe('selectExpectedRules', () => {
  it('skips v0.10 actions registered disabled, since chart 0.2.0 never passes --all', () => {
    const actions = selectActions(POD_10, /^syscall/).map((a) => a.action);
    expect(actions).not.toContain('syscall.ChangeThreadNamespace');
    expect(actions).not.toContain('syscall.ScheduleCronJobs');
    // 13: UserMgmtBinaries, enabled, is skipped in a container (below).
    expect(actions).toHaveLength(13);
  });

  it('runs disabled v0.13 actions (chart 0.4.0 passes --all) but expects only rules Falco enables by default', () => {
    const rules = selectExpectedRules(STABLE_13, /^syscall.*Drift|^syscall.ReadSensitiveFileUntrusted$/);
    expect(selectActions(POD_13, /Drift/).map((a) => a.rule)).toEqual([
      'Container Drift Detected (chmod)',
      'Container Drift Detected (open+create)',
    ]);
    expect(rules).toEqual(['Read sensitive file untrusted']);
  });

  it('expects only the rules of the rules files Falco loads (the charts load the stable file alone)', () => {
    // Falco's default rules_files is falco_rules.yaml: 19 of the 52 enabled rules ^syscall selects
    // that run in a pod without privileges (below).
    const stable = selectExpectedRules(STABLE_13, /^syscall/);
    expect(stable).toHaveLength(19);
    expect(stable).toContain('Read sensitive file untrusted');
    expect(stable).not.toContain('Write below etc');
    expect(stable).not.toContain('Create files below dev');
    // Every Write* action targets a sandbox rule: nothing to expect from a stable-only Falco.
    expect(selectExpectedRules(STABLE_13, /^syscall.Write/)).toEqual([]);
    expect(
      selectExpectedRules({ ...POD_13, falcoRules: ['stable', 'sandbox'] }, /^syscall.WriteBelowEtc$/),
    ).toEqual(['Write below etc']);
    const all = selectExpectedRules({ ...POD_13, falcoRules: ALL_FILES }, /^syscall/);
    expect(all).toHaveLength(52);
    // falco-rules-0.1.0 (Falco 0.34) kept every rule in falco_rules.yaml.
    expect(selectExpectedRules({ ...POD_10, falcoRules: ['stable'] }, /^syscall.WriteBelowEtc$/)).toEqual([
      'Write below etc',
    ]);
  });

  // Regression: a v0.10 run of ^syscall (Falco 0.34.1, chart 0.2.0) always ended with "User mgmt
  // binaries" missed. event-generator skips UserMgmtBinaries (v0.10, v0.13) and
  // LaunchSuspiciousNetworkToolOnHost (v0.13) when it runs in a container, as in a run's Job pod
  // ("not applicable to containers"), and Falco 0.34.1's rule says `not container`.
  it('expects no rule of an action event-generator skips in a container, as in the Job pod a run starts', () => {
    const v10 = selectExpectedRules({ ...POD_10, falcoRules: ['stable'] }, /^syscall/);
    expect(v10).not.toContain('User mgmt binaries');
    expect(v10).toHaveLength(13);
    const v13 = selectExpectedRules(
      { ...POD_13, falcoRules: ALL_FILES },
      /^syscall.(UserMgmtBinaries|LaunchSuspiciousNetworkTool)/,
    );
    expect(v13).toEqual(['Launch Suspicious Network Tool in Container']);
  });

  // Regression (review): a default ^syscall run expected "Debugfs Launched in Privileged Container"
  // and "Detect release_agent File Container Escapes" (stable, enabled) every time, though
  // event-generator v0.13.0 skips their actions without CAP_SYS_ADMIN ("privileged container
  // required") and the charts' Job pod gets none: each run and canary reported them missed.
  it('expects no rule of an action event-generator skips for want of a privilege the Job pod lacks', () => {
    const privileged = { ...STABLE_13, privileged: true };
    const stable = selectExpectedRules(STABLE_13, /^syscall/);
    expect(stable).not.toContain('Debugfs Launched in Privileged Container');
    expect(stable).not.toContain('Detect release_agent File Container Escapes');
    const stablePrivileged = selectExpectedRules(privileged, /^syscall/);
    expect(stablePrivileged.filter((rule) => !stable.includes(rule))).toEqual([
      'Debugfs Launched in Privileged Container',
    ]);
    expect(stable.filter((rule) => !stablePrivileged.includes(rule))).toEqual([]);
    const all = selectExpectedRules({ ...POD_13, falcoRules: ALL_FILES }, /^syscall/);
    const allPrivileged = selectExpectedRules({ ...privileged, falcoRules: ALL_FILES }, /^syscall/);
    expect(allPrivileged.filter((rule) => !all.includes(rule))).toEqual([
      'Debugfs Launched in Privileged Container',
      'Mount Launched in Privileged Container',
    ]);
    expect(all.filter((rule) => !allPrivileged.includes(rule))).toEqual([]);
  });

  // Regression (review): ChangeThreadNamespace was taken for skipped without CAP_SYS_ADMIN, so an
  // unprivileged run never expected "Change thread namespace". Its skip needs checkCapability to
  // succeed, which needs capsh (absent from the v0.13.0 image): the check fails, the action falls
  // through to setns, and Falco's rule (incubating) asks no privilege of the container.
  it('expects Change thread namespace from an unprivileged pod: without capsh its privilege check never skips', () => {
    const incubating = { ...POD_13, falcoRules: ['incubating'] } as const;
    expect(selectExpectedRules(incubating, /^syscall.ChangeThreadNamespace$/)).toEqual([
      'Change thread namespace',
    ]);
    expect(selectExpectedRules({ ...POD_13, falcoRules: ALL_FILES }, /^syscall/)).toHaveLength(52);
  });

  // Their capability check runs capsh, which the v0.13.0 image lacks: skipped privileged or not.
  it('expects no rule of an action whose capability check needs capsh, privileged or not', () => {
    for (const privileged of [false, true]) {
      const rules = selectExpectedRules(
        { ...POD_13, privileged, falcoRules: ALL_FILES },
        /^syscall.(DetectReleaseAgent|ChangeNamespacePrivilegesViaUnshare)/,
      );
      expect(rules).toEqual([]);
    }
  });

  it('expects nothing for a regex that selects no action', () => {
    expect(selectExpectedRules(STABLE_13, /^k8saudit/)).toEqual([]);
  });

  it('maps v0.10 RunShellUntrusted to Run shell untrusted', () => {
    expect(selectExpectedRules({ ...POD_10, falcoRules: ['stable'] }, /RunShellUntrusted/)).toEqual([
      'Run shell untrusted',
    ]);
  });
});
