import * as z from 'zod';

// Marks the issues of the settings below: loadConfig adds the value given to their message, and takes
// a value of blanks as unset.
const NUMBER_SETTING = { numberSetting: true };

/** Whether a number setting raised `issue`: one of numberSetting's, or a check given numberCheck. */
export function isNumberIssue(issue: z.core.$ZodIssue): boolean {
  return issue.code === 'custom' && issue.params?.numberSetting === true;
}

/** The options of a check on a number setting's value: its problem said as numberSetting's are. */
export const numberCheck = (message: string) => ({ message, params: NUMBER_SETTING });

// What a value not written in the form a number setting takes is told.
const NOT_DIGITS = 'must be a number, written in digits';

const WHOLE = /^\d+$/;
// The point at either end too, as Number() read them before: '.5' and '5.'.
const DECIMAL = /^(\d+\.?\d*|\.\d+)$/;
// A number in the usual notation, out of range or not whole (-1, 1.5): told the range, not the form.
const NUMERAL = /^-?(\d+\.?\d*|\.\d+)$/;

export interface NumberRange {
  /** Unset: no bound but the largest integer a number holds exactly, named only to a value above it. */
  max?: number;
  /** Said after the range: its unit, or why a bound is where it is. */
  note?: string;
  /** Whether a fraction (0.05) is taken, as decimal digits with one `.` among or around them. */
  fractions?: boolean;
}

/**
 * A number setting from `min` to `max`, written in decimal digits only: what the refusal says. Read
 * with Number() they took more: PORT=0x4a0a listened on 18954, BODY_LIMIT_BYTES=1e6 and ' 5' passed,
 * while STORE_MAX_ALERTS=10_000 was refused; and out of range zod said 'Too small: expected number
 * to be >0', not the range.
 */
export function numberSetting(min: number, { max, note = '', fractions = false }: NumberRange = {}) {
  const top = max ?? Number.MAX_SAFE_INTEGER;
  const kind = fractions ? 'a number' : 'a whole number';
  const form = fractions ? DECIMAL : WHOLE;
  return z.string().transform((text, ctx) => {
    const value = form.test(text) ? Number(text) : Number.NaN;
    if (value >= min && value <= top) return value;
    const range = max === undefined && !(value > top) ? `of at least ${min}` : `from ${min} to ${top}`;
    const message = NUMERAL.test(text) ? `must be ${kind} ${range}${note}` : NOT_DIGITS;
    ctx.addIssue({ code: 'custom', message, params: NUMBER_SETTING, continue: false });
    return z.NEVER;
  });
}

/** A count or a size in bytes: a whole number of at least 1. */
export const positiveInt = numberSetting(1);

/** A port to listen on: 0 (any free one) to 65535. */
export const port = numberSetting(0, { max: 65535 });
