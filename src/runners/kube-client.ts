import type * as KubeClient from '@kubernetes/client-node';

/** The Kubernetes client library's module. */
export type KubeClientModule = typeof KubeClient;

let loaded: Promise<KubeClientModule> | undefined;

/**
 * Loads @kubernetes/client-node on first use: importing it takes about 0.6 s, which every start
 * of the receiver would otherwise pay even with triggers off. With them on, main.ts loads it before
 * listening: the import holds the event loop the whole time.
 */
export function loadKubeClient(): Promise<KubeClientModule> {
  loaded ??= import('@kubernetes/client-node');
  return loaded;
}
