import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IMAGE_NODE_ARGS, IMAGE_NODE_OPTIONS, imageRuntimeEnv } from '../../scripts/image-node.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  scripts: Record<string, string>;
};

describe('npm start', () => {
  // The V8 flags NODE_OPTIONS cannot carry live in two places: the image's CMD and this script.
  it("runs node with the container image's CMD flags", () => {
    expect(IMAGE_NODE_ARGS).toContain('--initial-old-space-size=32');
    expect(IMAGE_NODE_ARGS).toContain('--no-incremental-marking-task');
    expect(pkg.scripts.start).toBe(['node', ...IMAGE_NODE_ARGS, 'dist/main.js'].join(' '));
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
