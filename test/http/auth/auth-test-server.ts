import type http from 'node:http';
import type express from 'express';
import { readFileSync } from 'node:fs';
import { boundPort, startServer } from '../../../src/server/start-server.js';
import { buildTestApp, metricValue } from '../../helpers/test-app.js';

export const VIEWER_TOKEN = 'viewer-token-0123456789abcdef';
export const TRIGGER_TOKEN = 'trigger-token-0123456789abcdef';
export const ALERT = readFileSync(
  new URL('../../fixtures/falco/samples/valid/093-latest-terminal-shell-in-container.json', import.meta.url),
  'utf8',
);

/** The real receiver (core, dashboard, triggers API) on 127.0.0.1 with read auth configured by `env`. */
export interface AuthTestServer {
  baseUrl: string;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  post(path: string, body: string, headers?: Record<string, string>): Promise<Response>;
  logLines: Record<string, unknown>[];
  rawLog(): string;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Moves the app's clock (sessions and the failure window read it). */
  advance(ms: number): void;
  close(): Promise<void>;
}

/** `triggerRouter` is mounted in place of the trigger API (createReceiver's test seam). */
export async function startAuthTestServer(
  env: Record<string, string>,
  triggerRouter?: express.Router,
): Promise<AuthTestServer> {
  let offset = 0;
  const built = buildTestApp({
    triggerRouter,
    env: {
      TRIGGERS_ENABLED: 'true',
      TRIGGER_TOKEN,
      TRIGGER_DEFAULT_BACKEND: 'docker',
      ...env,
    },
    parentEnv: {},
    now: () => Date.now() + offset,
    logLevel: 'info',
  });
  // As main.ts: the listener's close writes the counted lines the app held back.
  const server: http.Server = await startServer(built.app, {
    host: '127.0.0.1',
    port: 0,
    flushLines: built.flushLines,
  });
  const baseUrl = `http://127.0.0.1:${boundPort(server)}`;
  return {
    baseUrl,
    get: (path, headers = {}) => fetch(baseUrl + path, { headers, redirect: 'manual' }),
    post: (path, body, headers = {}) =>
      fetch(baseUrl + path, {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/json', ...headers },
      }),
    logLines: built.logLines,
    rawLog: () => built.rawLogLines.join('\n'),
    metric: (name, labels = {}) => metricValue(built.metrics.registry, name, labels),
    advance(ms) {
      offset += ms;
    },
    async close() {
      built.stream.closeAll();
      await built.triggers?.stop(1_000);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The `name=value` part of a Set-Cookie header, ready for a Cookie header. */
export function cookieOf(response: Response): string {
  const header = response.headers.get('set-cookie') ?? '';
  return header.split(';')[0] ?? '';
}

/** Runs `use` against a server started with `env`, and closes the server whatever `use` does. */
export async function withAuthTestServer(
  env: Record<string, string>,
  use: (server: AuthTestServer) => Promise<void>,
  triggerRouter?: express.Router,
): Promise<void> {
  const server = await startAuthTestServer(env, triggerRouter);
  try {
    await use(server);
  } finally {
    await server.close();
  }
}
