// Builds the service into <outDir> (default dist): one ES module bundle, main.js, with the
// dashboard's static files beside it in assets/. One file instead of some 400 modules spread over
// node_modules halves the time to /readyz (module resolution and loading were most of the cold
// start). Type checking is `npm run typecheck`; esbuild only strips the types.
// Usage: node scripts/build.mjs [outDir]
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import process from 'node:process';
import { build } from 'esbuild';

const outDir = process.argv[2] ?? 'dist';

// Node's built-ins, imported by the bundle with require(), as its CommonJS dependencies already do.
// An ES import of a built-in builds a module facade that reads every export, and on Node 24 that
// runs node:http's lazy getters (WebSocket, MessageEvent, CloseEvent): they load undici, Node's
// fetch, which the service never uses: 50 ms of a 0.45 s start, and its code kept in the heap.
const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(build) {
    build.onResolve({ filter: /^[\w:/]+$/ }, (args) => {
      if (!isBuiltin(args.path)) return undefined;
      if (args.namespace === 'builtin-require' || args.kind !== 'import-statement') {
        return { path: args.path, external: true };
      }
      return { path: args.path, namespace: 'builtin-require' };
    });
    build.onLoad({ filter: /.*/, namespace: 'builtin-require' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

rmSync(outDir, { recursive: true, force: true });
await build({
  entryPoints: ['src/main.ts'],
  outfile: join(outDir, 'main.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Loaded from node_modules on first use only: the trigger runners' clients (ws: their exec socket),
  // and the Redis client (REDIS_URL). Bundled, node-redis was a quarter of the file (1 MB of its 3.9): V8 scans every
  // byte at load and keeps the source for the life of the process, though a service on the memory
  // store never runs a line of it (cold start 0.615 -> 0.57 s of CPU, medians of 8, on a slow VM).
  external: ['@kubernetes/client-node', 'execa', 'redis', 'ws'],
  // CommonJS dependencies call require() for Node's built-ins; an ES module has none of its own.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);",
  },
  legalComments: 'none',
  charset: 'ascii',
  logLevel: 'warning',
  plugins: [builtinsByRequire],
});
// One non-Latin-1 character made V8 hold the whole source as a two-byte string: 7.8 MB of heap for a
// 3.9 MB file, for the life of the process. esbuild's ascii charset escapes strings, templates and
// patterns, not comments (a dash in a dependency's comment did it); written as \u{...} there, the
// text is the same in a string and harmless in a comment.
const bundle = join(outDir, 'main.js');
writeFileSync(
  bundle,
  readFileSync(bundle, 'utf8').replace(/[^\0-\x7f]/gu, (char) => `\\u{${char.codePointAt(0).toString(16)}}`),
);
// static-assets.ts finds them at ./assets/ beside the module: src/http/dashboard/ from source, dist/ here.
cpSync(join('src', 'http', 'dashboard', 'assets'), join(outDir, 'assets'), { recursive: true });
// The charting library's browser files (static-assets.ts VENDOR_FILES), so dist/ serves them without node_modules.
for (const file of ['uPlot.iife.min.js', 'uPlot.min.css']) {
  cpSync(join('node_modules', 'uplot', 'dist', file), join(outDir, 'assets', 'vendor', file));
}
