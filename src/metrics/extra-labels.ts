/** An `output_fields` key copied into a label of `falco_alerts_total`. */
export interface ExtraLabel {
  /** The `output_fields` key, e.g. `k8s.ns.name`. */
  field: string;
  /** The Prometheus label name, e.g. `k8s_ns_name`. */
  label: string;
}

const RESERVED = new Set(['rule', 'priority', 'source', 'le', 'quantile', 'job', 'instance']);

/** The Prometheus label name for an `output_fields` key: `k8s.ns.name` -> `k8s_ns_name`. */
export function toLabelName(field: string): string {
  const name = field.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

/** Why a label name cannot be used, or undefined when it can. */
export function labelNameProblem(label: string): string | undefined {
  if (label.startsWith('__')) return `label ${label} starts with __, which Prometheus reserves`;
  if (RESERVED.has(label)) return `label ${label} is already used`;
  return undefined;
}

/** The string a field value takes as a label value. */
export function toLabelValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}
