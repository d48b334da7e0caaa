import { isObj } from './rendered-documents.js';

/**
 * Whether a chart's `{{ if }}` takes a value as true (Go's text/template, under helm 4.1.4): false,
 * 0, "", an empty list or mapping and no value are false, anything else is true, a quoted "false"
 * too (`helm template` of charts 3.1.4 and 9.1.0 with falcosidekick.enabled: "false").
 */
export function chartTakesAsTrue(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (isObj(value)) return Object.keys(value).length > 0;
  // Go's NaN is not 0: true.
  if (typeof value === 'number') return value !== 0;
  return Boolean(value);
}
