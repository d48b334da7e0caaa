// RFC 3339 date-time as Falco writes it (`%FT%T` + `.%09luZ`); other senders' offsets, fractions
// of any length (`time-secfrac = "." 1*DIGIT`) and the lower-case `t` and `z` that RFC 3339 (5.6)
// allows pass too.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/;

const MINUTES_PER_DAY = 24 * 60;

// A leap second is only ever 23:59:60 UTC (RFC 3339 5.7), and Falco never writes second 60
// (strftime of gmtime): 60 in any other minute is not a time. `minutes`: of the UTC day, possibly
// a day off either way by the offset.
function isLastUtcMinute(minutes: number): boolean {
  return (minutes + MINUTES_PER_DAY) % MINUTES_PER_DAY === MINUTES_PER_DAY - 1;
}

/**
 * Milliseconds since the epoch of an RFC 3339 timestamp such as Falco's
 * `2023-05-04T07:28:29.510366389Z`, or undefined when the text is not one (including
 * impossible dates such as February 30th).
 */
export function parseFalcoTime(text: string): number | undefined {
  // The schema checks an alert's time and the sink converts it right after: the second call is free.
  if (text === last.text) return last.ms;
  const ms = computeFalcoTime(text);
  last.text = text;
  last.ms = ms;
  return ms;
}

// The last answer of parseFalcoTime, a pure function of its text.
const last: { text: string | undefined; ms: number | undefined } = { text: undefined, ms: undefined };

function computeFalcoTime(text: string): number | undefined {
  const match = RFC3339.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zone, offH, offM] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60) return undefined;
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC, which reads years 0 to 99 as 1900 to 1999.
  date.setUTCFullYear(year, month - 1, day);
  // It rolls over (Feb 30 -> Mar 2): a different day back means the date does not exist.
  if (date.getUTCDate() !== day) return undefined;
  const base = date.getTime() + ((hour * 60 + minute) * 60 + second) * 1000;
  const utc = zone === 'Z' || zone === 'z';
  if (!utc && (Number(offH) > 23 || Number(offM) > 59)) return undefined;
  const offsetMinutes = utc ? 0 : (zone?.startsWith('-') ? -1 : 1) * (Number(offH) * 60 + Number(offM));
  // Second 60 is a leap second (RFC 3339 5.7): counted as the next minute's first, as POSIX time does.
  if (second === 60 && !isLastUtcMinute(hour * 60 + minute - offsetMinutes)) return undefined;
  const millis = fraction ? Number(fraction.slice(1, 4).padEnd(3, '0')) : 0;
  return base + millis - offsetMinutes * 60_000;
}
