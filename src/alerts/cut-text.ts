/**
 * `text` cut to its first `maxChars` characters and `…` when longer, never between the two halves of
 * a surrogate pair: how an answer or a log line names what a client sent (a key, a path, a
 * parameter), whose length the client chooses.
 */
export function cutText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const last = text.charCodeAt(maxChars - 1);
  return `${text.slice(0, last >= 0xd800 && last <= 0xdbff ? maxChars - 1 : maxChars)}…`;
}
