/** A YAML value's kind, in words that name it without quoting it (a values file may hold tokens). */
export type ValueKind =
  'mapping' | 'list' | 'string' | 'number' | 'boolean' | 'null' | 'value of another kind';

const SCALAR_KINDS: Partial<Record<string, ValueKind>> = {
  string: 'string',
  number: 'number',
  boolean: 'boolean',
};

/** A mapping is a plain object, as toJS builds one; a Map, a Date or bytes are "of another kind". */
export function valueKind(value: unknown): ValueKind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object')
    return Object.getPrototypeOf(value) === Object.prototype ? 'mapping' : 'value of another kind';
  return SCALAR_KINDS[typeof value] ?? 'value of another kind';
}
