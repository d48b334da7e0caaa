// Copies the dashboard's static files next to the compiled JavaScript: tsc emits only .js.
// Usage: node scripts/copy-dashboard-assets.mjs <outDir>
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';

const outDir = process.argv[2] ?? 'dist';
cpSync(join('src', 'http', 'dashboard', 'assets'), join(outDir, 'http', 'dashboard', 'assets'), {
  recursive: true,
});
