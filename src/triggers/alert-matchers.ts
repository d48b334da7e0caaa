import type { FalcoAlert } from '../alerts/falco-alert-schema.js';

/** The rule a terminal shell with a TTY triggers. */
export const TERMINAL_SHELL_RULE = 'Terminal shell in container';

function fieldText(alert: FalcoAlert, field: string): string | undefined {
  const fields = alert.output_fields;
  const value = fields && Object.hasOwn(fields, field) ? fields[field] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** True when the alert's cmdline (or, without output_fields, its output text) carries the nonce. */
export function alertCarriesNonce(alert: FalcoAlert, nonce: string): boolean {
  return (fieldText(alert, 'proc.cmdline') ?? '').includes(nonce) || (alert.output ?? '').includes(nonce);
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * True when the alert comes from `namespace`: output_fields k8s.ns.name, else the
 * `k8s.ns=` / `k8s_ns_name=` token Falco prints in its output text.
 */
export function alertFromNamespace(alert: FalcoAlert, namespace: string): boolean {
  const field = fieldText(alert, 'k8s.ns.name');
  if (field !== undefined) return field === namespace;
  const token = new RegExp(`k8s[._]ns(?:[._]name)?=${escapeRegExp(namespace)}(?![A-Za-z0-9.-])`);
  return token.test(alert.output ?? '');
}
