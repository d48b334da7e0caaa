import { describe, expect, it } from 'vitest';
import {
  buildLeftoversRemoval,
  describeRunLeftovers,
  findOrphanLeftovers,
  findRunLeftovers,
} from '../../src/triggers/run-leftovers.js';
import type { TriggerRun } from '../../src/triggers/trigger-run.js';

const ID = '1234abcd-0000-4000-8000-000000000000';

const runOf = (kind: TriggerRun['kind'], target: Record<string, string>): TriggerRun => ({
  id: ID,
  kind,
  status: 'running',
  createdAt: '2026-12-05T14:00:00.000Z',
  target,
  commands: [],
  verification: { windowMs: 1000, expectations: [] },
});

describe('what a run cut short may leave behind', () => {
  it.each([
    [
      'an event-generator run: its helm release, in its namespace',
      runOf('event-generator', { namespace: 'falco-canary', actions: '^syscall' }),
      { release: 'falco-eg-1234abcd', namespace: 'falco-canary' },
      'helm release falco-eg-1234abcd in namespace falco-canary',
      'helm uninstall falco-eg-1234abcd --namespace falco-canary',
    ],
    [
      'a shell in a short-lived pod: the pod, in its namespace',
      runOf('shell', { backend: 'kubernetes', namespace: 'default', image: 'busybox:1.36' }),
      { pod: 'falco-trigger-1234abcd', namespace: 'default' },
      'pod falco-trigger-1234abcd in namespace default',
      'kubectl delete pod falco-trigger-1234abcd --namespace default',
    ],
    [
      'a shell in a short-lived docker container: the container',
      runOf('shell', { backend: 'docker', image: 'busybox:1.36' }),
      { container: 'falco-trigger-1234abcd' },
      'docker container falco-trigger-1234abcd',
      'docker rm --force falco-trigger-1234abcd',
    ],
  ])('names %s, and how to remove it', (_what, run, left, words, removal) => {
    expect(findRunLeftovers(run)).toEqual(left);
    expect(describeRunLeftovers(left)).toBe(words);
    expect(buildLeftoversRemoval(left).join(' ')).toBe(removal);
  });

  it('is nothing for a shell in an existing pod or container, which the run did not make', () => {
    expect(
      findRunLeftovers(runOf('shell', { backend: 'kubernetes', namespace: 'default', pod: 'web-1' })),
    ).toBe(undefined);
    expect(findRunLeftovers(runOf('shell', { backend: 'docker', container: 'myproj_web_1' }))).toBe(
      undefined,
    );
  });
});

describe('what an orphaned run left to remove', () => {
  const started = (commands: TriggerRun['commands']): TriggerRun => ({
    ...runOf('event-generator', { namespace: 'falco-canary', actions: '^syscall' }),
    startedAt: '2026-12-05T14:00:01.000Z',
    commands,
  });
  const install = (failed: boolean, output: string): TriggerRun['commands'][number] => ({
    argv: ['helm', 'install', 'falco-eg-1234abcd'],
    exitCode: failed ? 1 : 0,
    durationMs: 10,
    timedOut: false,
    failed,
    output,
  });

  it('is its release once it started, unless helm refused the install for a release already there', () => {
    expect(findOrphanLeftovers(started([]))).toEqual({
      release: 'falco-eg-1234abcd',
      namespace: 'falco-canary',
    });
    expect(findOrphanLeftovers(started([install(true, 'Error: INSTALLATION FAILED: timed out')]))).toEqual({
      release: 'falco-eg-1234abcd',
      namespace: 'falco-canary',
    });
    expect(
      findOrphanLeftovers(
        started([install(true, 'Error: INSTALLATION FAILED: cannot re-use a name that is still in use')]),
      ),
    ).toBe(undefined);
  });
});
