const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/**
 * The first `maxChars` UTF-16 units of `text` (all of it when shorter), one fewer rather than half
 * a surrogate pair (which Redis would keep as U+FFFD, and JSON.stringify write as a lone escape).
 */
export function startOf(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  return text.slice(0, isHighSurrogate(text.charCodeAt(maxChars - 1)) ? maxChars - 1 : maxChars);
}

/**
 * `text` cut to its start (startOf) and `…` when longer: how an answer or a log line names what a
 * client sent (a key, a path, a parameter), whose length the client chooses.
 */
export function cutText(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${startOf(text, maxChars)}…`;
}
