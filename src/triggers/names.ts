// What trigger names may look like, in request bodies and in the allow-lists that bound them.

/** Kubernetes name rules (DNS-1123 label). They also keep every shell metacharacter and leading `-` out. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** DNS-1123 subdomain (pod names). */
export const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** An image reference: starts with a letter or digit, so it never reads as a flag of docker or kubectl. */
export const IMAGE_REFERENCE = /^[a-z0-9][a-z0-9._/:@-]{0,254}$/;
/**
 * Docker's rule for container names ([a-zA-Z0-9][a-zA-Z0-9_.-]*), capped in length: compose v1's
 * `myproj_web_1` and Docker's generated `eager_turing` pass, a flag never does. Every Kubernetes
 * container name (DNS_LABEL) is one too.
 */
export const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;
