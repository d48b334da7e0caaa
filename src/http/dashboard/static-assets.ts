import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Request, Response } from 'express';

/** One file the dashboard serves: the URL path, the file under the assets folder, its media type. */
interface AssetSpec {
  route: string;
  file: string;
  type: string;
}

const JS = 'text/javascript; charset=utf-8';

// An allow-list: nothing else under the folder is reachable, so no path from a URL touches the disk.
const ASSETS: AssetSpec[] = [
  { route: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { route: '/ui/dashboard.css', file: 'dashboard.css', type: 'text/css; charset=utf-8' },
  ...[
    'main.js',
    'dom.js',
    'alert-fields.js',
    'alert-list.js',
    'alert-details.js',
    'alert-feed.js',
    'event-stream.js',
    'exact-json.js',
    'filters.js',
    'suggestions.js',
    'frame-task.js',
    'charts.js',
    'summary-panel.js',
    'summary-model.js',
    'timeline-chart.js',
    'trigger-panel.js',
    'trigger-run-view.js',
    'login.js',
    'session.js',
  ].map((name) => ({ route: `/ui/js/${name}`, file: `js/${name}`, type: JS })),
];

/** The charting library's files, served from its npm package (never a CDN): route, file in its dist/. */
export const VENDOR_FILES = [
  { route: '/ui/vendor/uPlot.iife.min.js', file: 'uPlot.iife.min.js', type: JS },
  { route: '/ui/vendor/uPlot.min.css', file: 'uPlot.min.css', type: 'text/css; charset=utf-8' },
];

/** Where the assets are: beside this module, in src/ and (copied by the build) in dist/. */
export const DEFAULT_ASSETS_DIR = fileURLToPath(new URL('./assets/', import.meta.url));

/**
 * The folder holding VENDOR_FILES: `vendor/` in the assets folder where the build copied them
 * (dist/), else the installed package's own dist/ (running from source).
 */
export function findVendorDir(assetsDir: string): string {
  const copied = path.join(assetsDir, 'vendor');
  if (existsSync(copied)) return copied;
  return path.dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
}

/** A loaded asset and the handler that serves it. */
export interface LoadedAsset {
  route: string;
  handler: (req: Request, res: Response) => void;
}

/** Reads every asset once (they are small) so a missing file fails at start-up, not on a request. */
export function loadDashboardAssets(assetsDir: string): LoadedAsset[] {
  const vendorDir = findVendorDir(assetsDir);
  const files = [
    ...ASSETS.map((asset) => ({ ...asset, file: path.join(assetsDir, asset.file) })),
    ...VENDOR_FILES.map((asset) => ({ ...asset, file: path.join(vendorDir, asset.file) })),
  ];
  return files.map(({ route, file, type }) => {
    const body = readFileSync(file);
    return {
      route,
      handler: (_req: Request, res: Response) => {
        // No content hashes in the names: let the browser revalidate so an upgrade is seen at once.
        res.status(200).type(type).setHeader('Cache-Control', 'no-cache').send(body);
      },
    };
  });
}
