import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Tag of the tiny test image: a static busybox, nothing else (no registry needed). */
export const BUSYBOX_IMAGE = 'falco-alert-receiver/trigger-busybox:test';
const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'tty', 'echo', 'sleep', 'test', 'cat'];

/** True when docker answers and a static busybox exists to build the image from. */
export function dockerAndBusyboxAvailable(): boolean {
  if (!existsSync(BUSYBOX)) return false;
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Builds the image with `docker import` of a one-binary rootfs, unless it already exists. */
export function ensureBusyboxImage(): string {
  try {
    execFileSync('docker', ['image', 'inspect', BUSYBOX_IMAGE], { stdio: 'ignore' });
    return BUSYBOX_IMAGE;
  } catch {
    // Not built yet.
  }
  const root = mkdtempSync(join(tmpdir(), 'busybox-root-'));
  const archive = `${root}.tar`;
  try {
    mkdirSync(join(root, 'bin'));
    mkdirSync(join(root, 'tmp'));
    copyFileSync(BUSYBOX, join(root, 'bin', 'busybox'));
    for (const applet of APPLETS) symlinkSync('busybox', join(root, 'bin', applet));
    // The archive goes through a file, never a pipe buffer: execFileSync keeps at most 1 MiB of a
    // child's output (maxBuffer) and busybox-static alone is about 1.9 MB (spawnSync tar ENOBUFS).
    execFileSync('tar', ['-C', root, '-cf', archive, 'bin', 'tmp'], { stdio: 'ignore' });
    execFileSync('docker', ['import', '-c', 'ENV PATH=/bin', archive, BUSYBOX_IMAGE], {
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 60_000,
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(archive, { force: true });
  }
  return BUSYBOX_IMAGE;
}
