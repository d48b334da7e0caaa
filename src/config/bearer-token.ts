import * as z from 'zod';

/**
 * A token callers send as `Authorization: Bearer <token>`: one word of at least 16 characters.
 * Surrounding whitespace (the newline `echo` leaves in a Secret) is dropped, as token files' lines
 * are trimmed; a space inside could never be sent, so it is refused at start-up.
 */
export const bearerToken = z
  .string()
  .trim()
  .min(16, 'must be at least 16 characters')
  .regex(/^\S*$/, 'must be one word (no spaces inside): it is sent as Authorization: Bearer <token>')
  .optional();
