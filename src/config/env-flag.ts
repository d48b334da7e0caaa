import * as z from 'zod';

/** An on/off variable: `true` or `1` on, `false` or `0` (or unset) off. */
export const envFlag = z
  .enum(['true', 'false', '1', '0'])
  .default('false')
  .transform((text) => text === 'true' || text === '1');
