import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

// The root tsconfig checks Node code only; the page scripts are plain JS typed with JSDoc for the DOM.
describe('dashboard page scripts', () => {
  it('type-check strictly against the browser DOM library', async () => {
    const result = await execa('tsc', ['-p', 'src/http/dashboard/tsconfig.page.json'], {
      preferLocal: true,
      reject: false,
      timeout: 60_000,
    });

    expect(result.stdout + result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  }, 60_000);
});
