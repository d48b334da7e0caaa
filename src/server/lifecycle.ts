/** Readiness of the process: ready until shutdown begins. */
export interface Lifecycle {
  isReady(): boolean;
  beginShutdown(): void;
}

export function createLifecycle(): Lifecycle {
  let ready = true;
  return {
    isReady: () => ready,
    beginShutdown: () => {
      ready = false;
    },
  };
}
