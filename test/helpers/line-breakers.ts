/** DEL, C1 controls, U+2028 and U+2029: what no log line or /metrics line may hold raw. */
export const RAW_LINE_BREAKERS = /[\u007f-\u009f\u2028\u2029]/;

// Every line break Python's str.splitlines knows (FS, GS and RS among them).
// eslint-disable-next-line no-control-regex -- the control characters are the point
const PYTHON_LINE_BREAKS = /\r\n|[\n\r\u2028\u2029\x85\v\f\x1c-\x1e]/;

/** `text` cut into lines as Python's str.splitlines does (no empty last line). */
export function splitLinesLikePython(text: string): string[] {
  const lines = text.split(PYTHON_LINE_BREAKS);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}
