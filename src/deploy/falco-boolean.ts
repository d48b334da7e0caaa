/** The words yaml-cpp's bool (convert<bool>) reads, in lower case. */
const TRUE_WORDS = ['y', 'yes', 'true', 'on'];
const FALSE_WORDS = ['n', 'no', 'false', 'off'];

/** yaml-cpp's IsFlexibleCase: all lower case, or a capital then all lower or all upper case. */
const FLEXIBLE_CASE = /^(?:[a-z]*|[A-Z](?:[a-z]*|[A-Z]*))$/;

/**
 * How Falco reads one of its booleans (json_output, http_output.enabled, http_output.mtls) in the
 * falco.yaml both charts write, where a values file's value stands as it is written (`helm template`
 * of 3.1.4 and 9.1.0 renders `enabled: "false"`): yaml-cpp reads the text, quoted or not, so "false"
 * is false and "True" true. Undefined for what it cannot read ("tRue", another string, a number, a
 * list, a mapping): Falco 0.34.1 then refuses to start ("bad conversion"), 0.40.0 takes its default,
 * false (both run with such a falco.yaml).
 */
export function readFalcoBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string' || !FLEXIBLE_CASE.test(value)) return undefined;
  const word = value.toLowerCase();
  if (TRUE_WORDS.includes(word)) return true;
  return FALSE_WORDS.includes(word) ? false : undefined;
}
