import * as z from 'zod';
import { SUMMARY_WINDOW_NAMES as WINDOW_NAMES } from './summarize-alerts.js';

/**
 * Query string of `GET /ui/summary`. Strict, as GET /alerts's (query-params.ts): `window[x]=1` or a
 * misspelt `windw=24h` is refused by name, not answered with the default window's counts.
 */
export const summaryQuerySchema = z.strictObject({
  window: z.enum(WINDOW_NAMES, { error: `must be one of ${WINDOW_NAMES.join(', ')}` }).default('1h'),
});
