import { FROM_SOURCE, spawnService } from '../../helpers/spawn-service.js';

/** The real service (src/main.ts) running as its own process on 127.0.0.1. */
export interface ServiceProcess {
  baseUrl: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts `src/main.ts` through tsx with an explicit environment; resolves once it listens. */
export async function startServiceProcess(env: Record<string, string> = {}): Promise<ServiceProcess> {
  const service = await spawnService(env, { main: FROM_SOURCE, keepLine: () => false });
  return {
    baseUrl: `http://127.0.0.1:${service.port}`,
    port: service.port,
    async stop() {
      service.child.kill('SIGTERM');
      await service.exited;
    },
  };
}
