// What trigger names may look like, in request bodies and in the allow-lists that bound them.

/** Kubernetes name rules (DNS-1123 label). They also keep every shell metacharacter and leading `-` out. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** DNS-1123 subdomain (pod names). */
export const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** An image reference: starts with a letter or digit, so it never reads as a flag of docker or kubectl. */
export const IMAGE_REFERENCE = /^[a-z0-9][a-z0-9._/:@-]{0,254}$/;
