/** A path secret still to be filled in (`<INGEST_PATH_SECRET>`), which a message may show. */
const PLACEHOLDER = /^<[^>]*>$/;

/**
 * The URL as a message may show it (npm run deploy prints to a terminal or CI log), each stretch that
 * may be a secret starred out: everything between the scheme and the last `@` (a password may hold
 * a raw `#`, `/` or `?`), every query value up to the end (a fragment may be a value's tail), and
 * the segment after /alerts/ in any case (the receiver's routes ignore case) unless a placeholder.
 * The stretches are marked on the text itself and may overlap (`?token=a@b` is both a query value
 * and before the last `@`), so no reading of an ambiguous URL shows a part of one. Quotes and spaces
 * around the URL stay as written. Each step scans the text once: a long value costs linear time.
 */
export function shownUrl(url: string): string {
  const start = /^\s*["']?\s*/.exec(url)?.[0].length ?? 0;
  const trimmedEnd = url.trimEnd().length;
  const closingQuote = /["']/.test(url.slice(0, start)) && /["']/.test(url.charAt(trimmedEnd - 1));
  const end = closingQuote && trimmedEnd - 1 >= start ? trimmedEnd - 1 : url.length;
  const inner = url.slice(start, end);
  const hidden = new Array<boolean>(inner.length).fill(false);
  const hide = (from: number, to: number) => hidden.fill(true, from, to);

  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(inner)?.[0].length ?? 0;
  hide(scheme, Math.max(scheme, inner.lastIndexOf('@')));
  const query = inner.indexOf('?');
  if (query >= 0) {
    let from = query + 1;
    for (const parameter of inner.slice(from).split('&')) {
      // After its `=`, or the whole of a parameter without one (`a=1&b` shows `a=***&***`).
      hide(from + parameter.indexOf('=') + 1, from + parameter.length);
      from += parameter.length + 1;
    }
  }
  for (const match of inner.matchAll(/\/alerts\/([^/?]+)/gi)) {
    const segment = match[1] ?? '';
    if (!PLACEHOLDER.test(segment))
      hide(match.index + match[0].length - segment.length, match.index + match[0].length);
  }

  // By UTF-16 unit, as the marks are: a run of hidden ones is one `***`.
  let shown = '';
  for (let index = 0; index < inner.length; index += 1) {
    if (!hidden[index]) shown += inner.charAt(index);
    else if (index === 0 || !hidden[index - 1]) shown += '***';
  }
  return url.slice(0, start) + shown + url.slice(end);
}
