// The dashboard page during a burst of live alerts: the built service (dist/main.js) on
// 127.0.0.1, the page open in headless Chromium, BURST_ALERTS (10,000) posted by 32 senders at once;
// reports how long the burst took to post and to reach the page's Overview, and the page's long
// tasks (over 50 ms: the page did not answer input meanwhile) from the first post until then.
//   npm run build && node --import tsx bench/dashboard-burst.ts
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

// Debian's Chromium, as the browser tests find it.
const CHROMIUM_PATH = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((file) => existsSync(file));
const PORT = Number(process.env.BENCH_DASHBOARD_PORT ?? 46500);
const COUNT = Number(process.env.BURST_ALERTS ?? 10_000);
const SENDERS = 32;
const base = `http://127.0.0.1:${PORT}`;
const sample = JSON.parse(
  readFileSync(
    new URL(
      '../test/fixtures/falco/samples/valid/093-latest-terminal-shell-in-container.json',
      import.meta.url,
    ),
    'utf8',
  ),
) as { output: string };

const service = spawn('node', [process.env.BENCH_DIST ?? 'dist/main.js'], {
  env: {
    ...process.env,
    PORT: String(PORT),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    STORE_MAX_ALERTS: '20000',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const browser = await chromium.launch({
  executablePath: CHROMIUM_PATH,
  args: ['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1', '--no-sandbox', '--disable-gpu'],
});
try {
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`${base}/readyz`).then(
        (res) => res.ok,
        () => false,
      )
    )
      break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  // Page-side code as text: every long task from the page's start.
  await page.addInitScript(`window.__long = [];
    new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__long.push([e.startTime, e.duration]); })
      .observe({ type: 'longtask', buffered: true });`);
  await page.goto(`${base}/`);
  await page.locator('#connection[data-status="live"]').waitFor({ timeout: 10_000 });
  const from = (await page.evaluate('performance.now()')) as number;
  const started = Date.now();
  let next = 0;
  const send = async () => {
    while (next < COUNT) {
      const i = next++;
      const body = JSON.stringify({
        ...sample,
        rule: `Burst rule ${i % 40}`,
        priority: ['Notice', 'Warning', 'Error', 'Critical'][i % 4],
        output: `${sample.output} #${i}`,
      });
      const res = await fetch(`${base}/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: SENDERS }, send));
  const postedMs = Date.now() - started;
  // The Overview counts every alert of the stream: the page has taken them all in.
  const deadline = Date.now() + 120_000;
  const counted = async () =>
    Number(/^(\d+)/.exec((await page.locator('#summary-total').textContent()) ?? '')?.[1] ?? -1);
  while ((await counted()) < COUNT && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 100));
  const shownMs = Date.now() - started;
  const long = ((await page.evaluate('window.__long')) as Array<[number, number]>).filter(
    ([at]) => at >= from,
  );
  const durations = long.map(([, duration]) => duration);
  console.log(
    JSON.stringify({
      alerts: COUNT,
      postedMs,
      shownMs,
      longTasks: long.length,
      longTasksMs: Math.round(durations.reduce((sum, duration) => sum + duration, 0)),
      longestTaskMs: Math.round(Math.max(0, ...durations)),
    }),
  );
} finally {
  await browser.close();
  service.kill('SIGTERM');
}
