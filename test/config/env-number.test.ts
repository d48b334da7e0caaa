import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { loadConfig, variableProblems } from '../../src/config/load-config.js';
import { envSchema } from '../../src/config/schema.js';

const NOT_DIGITS = 'must be a number, written in digits';
const TIMER = '(ms; the longest timer Node keeps, about 24.8 days: a longer one fires at once)';

// Every variable that refuses a word as not a number: the ports, sizes, counts and durations.
const NUMBERS = Object.keys(envSchema.shape).filter((name) =>
  variableProblems(name, 'ten').some((problem) => problem.includes(NOT_DIGITS)),
);

const problemsOf = (env: Record<string, string>) => {
  const loaded = loadConfig(env);
  return loaded.ok ? [] : loaded.problems;
};

// Regression (new-user audit): the values went through Number(), so PORT=0x4a0a listened on 18954 and
// BODY_LIMIT_BYTES=1e6 was taken, while STORE_MAX_ALERTS=10_000 was refused as not written in digits.
describe('a number variable', () => {
  it('is one of the ports, sizes, counts and durations the service reads', () => {
    expect(NUMBERS).toEqual(
      expect.arrayContaining([
        'PORT',
        'ADMIN_PORT',
        'TLS_PORT',
        'BODY_LIMIT_BYTES',
        'STORE_MAX_ALERTS',
        'WORKERS',
        'SHUTDOWN_TIMEOUT_MS',
        'SESSION_TTL_SECONDS',
        'TRIGGER_CANARY_INTERVAL_MINUTES',
      ]),
    );
    expect(NUMBERS).toHaveLength(50);
  });

  it.each(['0x10', '1e3', '10_000', '1,000', ' 7', '7 ', '+7', '0b1', 'Infinity'])(
    'is refused written as %j, saying the form it needs',
    (value) => {
      for (const name of NUMBERS)
        expect(problemsOf({ [name]: value }), name).toContain(
          `${name}: ${NOT_DIGITS} (got ${JSON.stringify(value)})`,
        );
    },
  );

  it('is taken in decimal digits, leading zeros and all', () => {
    const loaded = loadConfig({ PORT: '08080', STORE_MAX_ALERTS: '10000', BODY_LIMIT_BYTES: '1000000' });
    expect(
      loaded.ok && [loaded.config.port, loaded.config.store.maxAlerts, loaded.config.bodyLimitBytes],
    ).toEqual([8080, 10_000, 1_000_000]);
  });

  it.each([
    [{ PORT: '65536' }, 'PORT: must be a whole number from 0 to 65535 (got "65536")'],
    [{ ADMIN_PORT: '-1' }, 'ADMIN_PORT: must be a whole number from 0 to 65535 (got "-1")'],
    [{ BODY_LIMIT_BYTES: '-1' }, 'BODY_LIMIT_BYTES: must be a whole number of at least 1 (got "-1")'],
    [{ BODY_LIMIT_BYTES: '1.5' }, 'BODY_LIMIT_BYTES: must be a whole number of at least 1 (got "1.5")'],
    [{ STORE_MAX_ALERTS: '0' }, 'STORE_MAX_ALERTS: must be a whole number of at least 1 (got "0")'],
    [{ WORKERS: '65' }, 'WORKERS: must be a whole number from 0 to 64 (got "65")'],
    [
      { STORE_PENDING_MAX: '1000001' },
      'STORE_PENDING_MAX: must be a whole number from 1 to 1000000 (got "1000001")',
    ],
    [{ QUERY_MAX_BYTES: '1024' }, 'QUERY_MAX_BYTES: must be a whole number of at least 65536 (got "1024")'],
    [
      { SHUTDOWN_TIMEOUT_MS: '0' },
      `SHUTDOWN_TIMEOUT_MS: must be a whole number from 1 to 2147483647 ${TIMER} (got "0")`,
    ],
    [
      { TRIGGER_VERIFY_WINDOW_MS: '2147483648' },
      `TRIGGER_VERIFY_WINDOW_MS: must be a whole number from 1 to 2147483647 ${TIMER} (got "2147483648")`,
    ],
    [
      { BODY_LIMIT_BYTES: '9007199254740993' },
      'BODY_LIMIT_BYTES: must be a whole number from 1 to 9007199254740991 (got "9007199254740993")',
    ],
  ])('out of range (%o) is refused in words that name the range', (env, problem) => {
    expect(problemsOf(env)).toEqual([problem]);
  });

  it('with fractions (the canary interval in minutes) is taken in decimal digits only', () => {
    const taken = ['0', '0.05', '.5', '30'].map((TRIGGER_CANARY_INTERVAL_MINUTES) => {
      const loaded = loadConfig({ TRIGGER_CANARY_INTERVAL_MINUTES });
      return loaded.ok ? loaded.config.triggers.canary.intervalMinutes : loaded.problems;
    });
    expect(taken).toEqual([0, 0.05, 0.5, 30]);
    expect(problemsOf({ TRIGGER_CANARY_INTERVAL_MINUTES: '5e-2' })).toEqual([
      `TRIGGER_CANARY_INTERVAL_MINUTES: ${NOT_DIGITS} (got "5e-2")`,
    ]);
  });

  // Regression (review): '.5' was taken and '5.' refused as 'must be a number, written in digits', which
  // it is (Number() took both, before the form was checked).
  it('with fractions takes the point at either end of the digits, and without says the number must be whole', () => {
    const taken = ['5.', '.5'].map((TRIGGER_CANARY_INTERVAL_MINUTES) => {
      const loaded = loadConfig({ TRIGGER_CANARY_INTERVAL_MINUTES });
      return loaded.ok ? loaded.config.triggers.canary.intervalMinutes : loaded.problems;
    });
    expect(taken).toEqual([5, 0.5]);
    expect(problemsOf({ PORT: '8080.', TRIGGER_CANARY_INTERVAL_MINUTES: '5..' })).toEqual([
      'PORT: must be a whole number from 0 to 65535 (got "8080.")',
      `TRIGGER_CANARY_INTERVAL_MINUTES: ${NOT_DIGITS} (got "5..")`,
    ]);
  });

  it('refused stops the service before it listens: exit 2, each problem on stderr', async () => {
    const result = await execa('node', ['--import', 'tsx', 'src/main.ts'], {
      reject: false,
      timeout: 30_000,
      env: { PATH: process.env.PATH ?? '', PORT: '0x4a0a', BODY_LIMIT_BYTES: '-1' },
      extendEnv: false,
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe(
      [
        'Invalid configuration:',
        `  - PORT: ${NOT_DIGITS} (got "0x4a0a")`,
        '  - BODY_LIMIT_BYTES: must be a whole number of at least 1 (got "-1")',
      ].join('\n'),
    );
    expect(result.stdout).not.toContain('listening');
  }, 60_000);
});
