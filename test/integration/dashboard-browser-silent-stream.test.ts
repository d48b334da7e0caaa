import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireComponent } from '../helpers/components.js';
import {
  CHROMIUM_PATH,
  alertOf,
  launchBrowser,
  openDashboard,
  row,
  startDashboardServer,
  type DashboardServer,
} from './dashboard-browser-harness.js';

const available = requireComponent('chromium', CHROMIUM_PATH !== undefined);

// 2.5 heartbeats of silence: 750 ms.
const HEARTBEAT_MS = 300;

/**
 * A TCP proxy on 127.0.0.1 in front of `port` whose `blackHole()` stops forwarding on every open
 * connection and keeps it open, as a NAT or ingress past its idle timeout (or a laptop's sleep) does.
 */
async function startBlackHoleProxy(port: number) {
  const open = new Set<{ dead: boolean; client: net.Socket; upstream: net.Socket }>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    const entry = { dead: false, client, upstream };
    open.add(entry);
    client.on('data', (data) => entry.dead || upstream.write(data));
    upstream.on('data', (data) => entry.dead || client.write(data));
    const end = () => {
      open.delete(entry);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) socket.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: proxyPort } = server.address() as net.AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${proxyPort}`,
    blackHole: () => open.forEach((entry) => (entry.dead = true)),
    close: async () => {
      open.forEach((entry) => entry.client.destroy());
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe.skipIf(!available)('dashboard behind a connection that goes silent, in headless Chromium', () => {
  let server: DashboardServer;
  let proxy: Awaited<ReturnType<typeof startBlackHoleProxy>>;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;

  beforeAll(async () => {
    server = await startDashboardServer({ STREAM_HEARTBEAT_MS: String(HEARTBEAT_MS) });
    proxy = await startBlackHoleProxy(Number(new URL(server.baseUrl).port));
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await proxy?.close();
    await server?.close();
  });

  // Regression: EventSource hides the `: ping` heartbeats, so a stream a proxy stopped forwarding
  // kept the page "Live" for good while the alerts posted since never came.
  it('opens the stream again when heartbeats stop coming, and shows what came meanwhile', async () => {
    const { page, problems } = await openDashboard(browser.context, proxy.baseUrl);
    await server.postAlert(alertOf('Before the silence', 'Warning'));
    await row(page, 'Before the silence').waitFor({ timeout: 5000 });

    proxy.blackHole();
    await server.postAlert(alertOf('During the silence', 'Warning'));

    await row(page, 'During the silence').waitFor({ timeout: 10_000 });
    await page.locator('#connection[data-status="live"]').waitFor({ timeout: 5000 });
    expect(await row(page, 'Before the silence').count()).toBe(1);
    expect(problems.errors).toEqual([]);
    expect(problems.cspViolations).toEqual([]);
  });
});
