import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDockerRemoveArgs, buildDockerShellArgs } from '../../src/runners/docker-args.js';
import { runCommand } from '../../src/runners/run-command.js';
import { buildShellCommand } from '../../src/triggers/shell-trigger.js';
import { BUSYBOX_IMAGE, dockerAndBusyboxAvailable, ensureBusyboxImage } from '../helpers/busybox-image.js';
import { requireComponent } from '../helpers/components.js';

const command = buildShellCommand('0123456789abcdef');

describe('buildDockerShellArgs', () => {
  it('runs a short-lived, locked-down container with a terminal and no stdin', () => {
    const argv = buildDockerShellArgs({ image: 'busybox:1.36', name: 'falco-trigger-1' }, command);
    expect(argv.slice(0, 4)).toEqual(['docker', 'run', '--rm', '-t']);
    expect(argv).not.toContain('-i');
    for (const flag of ['--read-only', '--cap-drop', 'no-new-privileges', '65534:65534', 'none', 'never']) {
      expect(argv).toContain(flag);
    }
    const value = (flag: string) => argv[argv.indexOf(flag) + 1];
    expect([value('--memory'), value('--memory-swap'), value('--cpus'), value('--pids-limit')]).toEqual([
      '32m',
      '32m',
      '0.1',
      '64',
    ]);
    expect(argv.slice(-4)).toEqual(['busybox:1.36', ...command]);
  });

  it('execs into an existing container with a terminal', () => {
    expect(buildDockerShellArgs({ container: 'web' }, command)).toEqual([
      'docker',
      'exec',
      '-t',
      'web',
      ...command,
    ]);
  });

  it('leaves -t out for the negative control (terminal: false)', () => {
    const argv = buildDockerShellArgs({ image: 'busybox:1.36', name: 'n' }, command, { terminal: false });
    expect(argv).not.toContain('-t');
    expect(buildDockerShellArgs({ container: 'web' }, command, { terminal: false })).toEqual([
      'docker',
      'exec',
      'web',
      ...command,
    ]);
  });

  it('removes a leftover container by name', () => {
    expect(buildDockerRemoveArgs('falco-trigger-1')).toEqual(['docker', 'rm', '--force', 'falco-trigger-1']);
  });
});

const haveDocker = requireComponent('docker (dockerd and /bin/busybox)', dockerAndBusyboxAvailable());
const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' };

describe.runIf(haveDocker)('docker shell against a real dockerd', () => {
  const names: string[] = [];
  beforeAll(() => {
    ensureBusyboxImage();
  });
  afterAll(async () => {
    for (const name of names)
      await runCommand(buildDockerRemoveArgs(name), { timeoutMs: 10_000, maxOutputChars: 500, env });
  });

  it('gives the shell a terminal (tty succeeds) and runs the nonce command', async () => {
    const name = `falco-trigger-test-${process.pid}`;
    names.push(name);
    const argv = buildDockerShellArgs({ image: BUSYBOX_IMAGE, name }, buildShellCommand('feedc0de12345678'));
    const result = await runCommand(argv, { timeoutMs: 30_000, maxOutputChars: 2_000, env });
    expect(result.failed).toBe(false);
    expect(result.output).toMatch(/^\/dev\/pts\/\d+/);
    expect(result.output).toContain('falco-receiver-canary-feedc0de12345678');
  });

  it("fails with tty's own message when the same command runs without -t (the check is real)", async () => {
    const argv = [
      'docker',
      'run',
      '--rm',
      '--network',
      'none',
      BUSYBOX_IMAGE,
      ...buildShellCommand('feedc0de12345678'),
    ];
    const result = await runCommand(argv, { timeoutMs: 30_000, maxOutputChars: 2_000, env });
    expect(result).toMatchObject({ failed: true, exitCode: 1 });
    expect(result.output).toContain('not a tty');
    expect(result.output).not.toContain('falco-receiver-canary-');
  });

  it('runs the negative control without a terminal, and it fails if it got one', async () => {
    const control = buildShellCommand('feedc0de12345678', false);
    const name = `falco-trigger-control-${process.pid}`;
    names.push(name);
    const plain = buildDockerShellArgs({ image: BUSYBOX_IMAGE, name }, control, { terminal: false });
    const withTty = [...buildDockerShellArgs({ image: BUSYBOX_IMAGE, name: `${name}-t` }, control)];
    names.push(`${name}-t`);

    const [withoutTerminal, withTerminal] = [
      await runCommand(plain, { timeoutMs: 30_000, maxOutputChars: 2_000, env }),
      await runCommand(withTty, { timeoutMs: 30_000, maxOutputChars: 2_000, env }),
    ];

    expect(withoutTerminal.failed).toBe(false);
    expect(withoutTerminal.output).toContain('not a tty');
    expect(withoutTerminal.output).toContain('falco-receiver-canary-feedc0de12345678');
    expect(withTerminal).toMatchObject({ failed: true, exitCode: 1 });
  });

  it('fails with a clear reason when the image is not present locally (never pulled)', async () => {
    const argv = buildDockerShellArgs(
      { image: 'falco-alert-receiver/absent:none', name: `falco-trigger-absent-${process.pid}` },
      command,
    );
    const result = await runCommand(argv, { timeoutMs: 30_000, maxOutputChars: 2_000, env });
    expect(result.failed).toBe(true);
    expect(result.reason).toMatch(/docker exited with code 125: .*No such image/);
  });
});
