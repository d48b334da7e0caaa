import { randomBytes } from 'node:crypto';

/**
 * Alert ids: UUIDs (RFC 9562) of version 8, the version for a layout of one's own. 74 random bits
 * drawn once per process, then a 48-bit counter: `rrrrrrrr-rrrr-8rrr-Vrrr-cccccccccccc` (V: the
 * variant bits and 2 random ones). Unique across replicas and restarts as a random UUID is (74
 * random bits per process), unique within a process by the counter, and costless: no random
 * draw per alert, and a store can find an alert by its counter instead of keeping its id string.
 */
export interface AlertIds {
  next(): string;
}

/** The parts of an id in this layout: its process prefix (24 characters) and its counter. */
export interface AlertIdParts {
  prefix: string;
  counter: number;
}

const COUNTER_DIGITS = 12;
const ID_LENGTH = 36;
const PREFIX_LENGTH = ID_LENGTH - COUNTER_DIGITS;

export function createAlertIds(random: (size: number) => Buffer = randomBytes): AlertIds {
  const hex = random(10).toString('hex');
  // Version 8 in the 13th digit, variant 10xx in the 17th (8, 9, a or b).
  const variant = (8 | (parseInt(hex[15]!, 16) & 3)).toString(16);
  const prefix = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(12, 15)}-${variant}${hex.slice(16, 19)}-`;
  let counter = 0;
  return {
    next: () => formatAlertId(prefix, counter++),
  };
}

const LAYOUT = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * The counter of an id in this layout with this prefix; undefined for any other id. Cheaper than
 * parseAlertId (no pattern, no object): a store asks it of every alert it adds.
 */
export function counterOf(id: string, prefix: string): number | undefined {
  if (id.length !== ID_LENGTH || !id.startsWith(prefix)) return undefined;
  // The 12 digits read in place: no slice, no pattern (48 bits stay exact in a number).
  let counter = 0;
  for (let i = PREFIX_LENGTH; i < ID_LENGTH; i++) {
    const code = id.charCodeAt(i);
    if (code >= 48 && code <= 57) counter = counter * 16 + code - 48;
    else if (code >= 97 && code <= 102) counter = counter * 16 + code - 87;
    else return undefined;
  }
  return counter;
}

/** The prefix and counter of an id in this layout; undefined for any other id. */
export function parseAlertId(id: string): AlertIdParts | undefined {
  if (id.length !== ID_LENGTH || !LAYOUT.test(id)) return undefined;
  return { prefix: id.slice(0, PREFIX_LENGTH), counter: parseInt(id.slice(PREFIX_LENGTH), 16) };
}

/** The id with this prefix and counter (the inverse of parseAlertId). */
export function formatAlertId(prefix: string, counter: number): string {
  return prefix + counter.toString(16).padStart(COUNTER_DIGITS, '0');
}
