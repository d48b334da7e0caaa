import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

// A process of its own: the routing replaces the console and Node's warning printer for good.
const SCRIPT = `
import { createLogger } from './src/logging/create-logger.ts';
import { routeConsoleToLog } from './src/logging/console-to-log.ts';
routeConsoleToLog(createLogger({ level: 'info' }));
console.log('node-redis says %s', 'hello', new Error('None of the sentinels are available'));
console.error('second');
process.emitWarning('a listener leak', { type: 'MaxListenersExceededWarning', code: 'W1' });
setTimeout(() => console.warn('third'), 20);
setTimeout(function traced() { console.trace('where'); }, 40);
`;

describe('routeConsoleToLog', () => {
  it('turns console output and process warnings into JSON log lines, and leaves stderr empty', async () => {
    const result = await execa(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', SCRIPT], {
      cwd: ROOT,
      timeout: 30_000,
    });

    expect(result.stderr).toBe('');
    const lines = result.stdout.split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    // The first console line at once; the next three, within CONSOLE_LOG_EVERY_MS, in one line as
    // the process exits (the newest text, a trace with where it was called, all counted); the
    // warning on its own.
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        event: 'console_output',
        method: 'log',
        count: 1,
        text: expect.stringMatching(
          /^node-redis says hello Error: None of the sentinels are available\n {4}at /,
        ),
      }),
      expect.objectContaining({
        level: 'warn',
        event: 'process_warning',
        name: 'MaxListenersExceededWarning',
        code: 'W1',
        text: 'a listener leak',
      }),
      expect.objectContaining({
        event: 'console_output',
        method: 'trace',
        count: 3,
        text: expect.stringMatching(/^Trace: where\n {4}at (Timeout\.)?traced /),
      }),
    ]);
  });

  it('logs no warning when Node was told to print none (--no-warnings)', async () => {
    const result = await execa(
      process.execPath,
      ['--no-warnings', '--import', 'tsx', '--input-type=module', '-e', SCRIPT],
      { cwd: ROOT, timeout: 30_000 },
    );

    expect(result.stderr).toBe('');
    const events = result.stdout.split('\n').map((line) => (JSON.parse(line) as { event: string }).event);
    expect(events).toEqual(['console_output', 'console_output']);
  });
});
