import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { findFreePort } from './free-port.js';

/** Debian's prometheus, listening on 127.0.0.1 and scraping one target every second. */
export interface PrometheusServer {
  baseUrl: string;
  /** Instant query; resolves to the vector's samples. */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: number }>>;
  stop(): Promise<void>;
}

interface QueryResponse {
  status: string;
  data: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

/** Starts prometheus scraping `target` (host:port) as job `job`; waits until /-/ready answers. */
export async function startPrometheus(target: string, job: string): Promise<PrometheusServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'prometheus-'));
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    `  - job_name: ${job}`,
    '    static_configs:',
    `      - targets: ['${target}']`,
  ].join('\n');
  writeFileSync(path.join(dir, 'prometheus.yml'), `${config}\n`);
  const port = await findFreePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const child = execa(
    'prometheus',
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { reject: false, timeout: 10 * 60_000 },
  );

  const stop = async () => {
    child.kill('SIGTERM');
    await child;
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ready = await fetch(`${baseUrl}/-/ready`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus did not become ready on ${baseUrl}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    baseUrl,
    async query(promql) {
      const response = await fetch(`${baseUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await response.json()) as QueryResponse;
      if (body.status !== 'success') throw new Error(`query failed: ${JSON.stringify(body)}`);
      return body.data.result.map((item) => ({ metric: item.metric, value: Number(item.value[1]) }));
    },
    stop,
  };
}
