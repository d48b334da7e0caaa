import type { RequestListener } from 'node:http';
import express from 'express';
import type { AlertSink } from '../../src/alerts/alert-sink.js';
import type { AlertStore } from '../../src/alerts/alert-store.js';
import type { AlertStream } from '../../src/http/routes/stream.js';
import { buildTestApp } from '../helpers/test-app.js';

export interface DashboardTestAppOptions {
  triggersEnabled?: boolean;
  /** The clock of both the sink (receipt times) and the summary. */
  now?: () => number;
  /** The triggers API stand-in of the browser test, mounted in place of the real triggers router. */
  triggerRouter?: express.Router;
  /** Environment variables on top of the suite's own. */
  env?: Record<string, string>;
}

export interface DashboardTestApp {
  app: RequestListener;
  store: AlertStore;
  sink: AlertSink;
  stream: AlertStream;
  /** Log lines written so far, as objects. */
  logLines: Record<string, unknown>[];
}

/** The real app (core routes + dashboard) with its own registry, store and a log sink read back as objects. */
export function buildDashboardTestApp(options: DashboardTestAppOptions = {}): DashboardTestApp {
  // Without a stand-in, the panel is off; with one, it replaces the triggers API.
  const standIn = options.triggersEnabled ? (options.triggerRouter ?? express.Router()) : undefined;
  const built = buildTestApp({
    env: { METRICS_MAX_SOURCES: '10', STORE_MAX_BYTES: String(10 * 1024 * 1024), ...options.env },
    now: options.now,
    triggerRouter: standIn,
    logLevel: 'info',
  });
  return {
    app: built.app,
    store: built.store,
    sink: built.sink,
    stream: built.stream,
    logLines: built.logLines,
  };
}
