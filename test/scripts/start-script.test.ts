import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IMAGE_NODE_ARGS, IMAGE_NODE_OPTIONS, imageRuntimeEnv } from '../../scripts/image-node.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<string, string>;
};

describe('npm start', () => {
  // The V8 flags NODE_OPTIONS cannot carry live in two places: the image's CMD and this script.
  it("runs node with the container image's CMD flags", () => {
    expect(IMAGE_NODE_ARGS).toContain('--initial-old-space-size=32');
    expect(IMAGE_NODE_ARGS).toContain('--no-incremental-marking-task');
    expect(pkg.scripts.start).toBe(['exec', 'node', ...IMAGE_NODE_ARGS, 'dist/main.js'].join(' '));
  });
});

// A stand-in for the service: says when its SIGTERM handler is in place, and when it ran. It ends
// by itself after 20 s, so a run whose signal never reached it leaves nothing behind for long.
const STAND_IN = `
process.on('SIGTERM', () => { console.log('sigterm'); process.exit(0); });
setTimeout(() => process.exit(3), 20000);
console.log('ready ' + process.pid);
`;

describe('npm start, stopped with SIGTERM to npm', () => {
  const leftovers: number[] = [];
  afterEach(() => {
    for (const pid of leftovers.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone: the signal reached it.
      }
    }
  });

  // Regression: after `npm start &`, `kill %1` (SIGTERM to npm, which passes it to the one child it
  // started) ended npm and the `sh -c` that ran the script, but not node: the service kept its port,
  // orphaned, and never shut down. The script now execs node, so node is npm's child.
  it("reaches node's own handler through npm, in the script's own words", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'npm-start-'));
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist/main.js'), STAND_IN);
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'start-stand-in', version: '0.0.0', scripts: { start: pkg.scripts.start } }),
    );
    const npm = spawn('npm', ['start', '--silent'], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const exited = new Promise<number | string>((resolve) =>
      npm.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
    );
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start did not start: ${out}`)), 15_000);
      npm.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        const ready = /ready (\d+)/.exec(out);
        if (!ready) return;
        leftovers.push(Number(ready[1]));
        clearTimeout(timer);
        resolve();
      });
    });

    npm.kill('SIGTERM');

    expect(await exited).toBe(0);
    expect(out).toContain('sigterm');
  });
});

describe("the image's NODE_OPTIONS, as the bench and overload runs read them", () => {
  // Regression: the value was read up to the first space, and a quoted list of flags came out cut.
  it('reads every flag of the quoted value, the semi-space bound Node 24 needs included', () => {
    expect(IMAGE_NODE_OPTIONS).toBe('--max-old-space-size=128 --max-semi-space-size=8');
  });
});

describe("the image's runtime environment, as the bench, fuzz and overload runs take it", () => {
  it("carries glibc's fixed mmap threshold beside NODE_OPTIONS, from the Dockerfile's ENV", () => {
    expect(imageRuntimeEnv({})).toEqual({
      NODE_OPTIONS: '--max-old-space-size=128 --max-semi-space-size=8',
      MALLOC_MMAP_THRESHOLD_: '131072',
    });
  });

  it("lets a variable set in the caller's environment win, and only the ones it names", () => {
    expect(imageRuntimeEnv({ NODE_OPTIONS: '--max-old-space-size=96', HOME: '/root' })).toEqual({
      NODE_OPTIONS: '--max-old-space-size=96',
      MALLOC_MMAP_THRESHOLD_: '131072',
    });
  });
});
