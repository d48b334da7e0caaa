import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * One temporary folder for the whole run: every test worker, and every helm, redis-server, Falco
 * or service process a test starts, inherits TMPDIR pointing into it, so whatever a test leaves in
 * `os.tmpdir()` goes with it when the run ends instead of piling up on the machine.
 */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'far-test-run-'));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = root;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    rmSync(root, { recursive: true, force: true });
  };
}
