import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PATH_SECRET_PLACEHOLDER } from './check-falco-url.js';
import { checkFalcoValues } from './check-falco-values.js';
import { deploy, type DeployDeps } from './deploy.js';
import { DEFAULT_DEPLOY_OPTIONS, type DeployOptions } from './deploy-plan.js';
import { readHttpOutput } from './falco-http-output.js';
import { writeIngestUrlValues } from './ingest-url-values.js';
import { readSecretFile } from '../config/path-secret.js';
import { runCommand } from '../runners/run-command.js';

const USAGE = `Usage: npm run deploy -- [--dry-run] [--falco-chart-version <version>] [--charts-dir <dir>] [--values <file>]... [--kustomize <dir>] [--ingest-path-secret-file <file>]

Installs Falco (falcosecurity/falco with helm-values/falco.yaml) and falco-alert-receiver (k8s/)
into the current kubectl context, then waits for both rollouts. Run from the repository root.
  --dry-run                      print every command instead of running it
  --falco-chart-version <v>      falco chart version (default ${DEFAULT_DEPLOY_OPTIONS.falcoChartVersion}; the lab used 3.1.4)
  --charts-dir <dir>             air-gapped: install <dir>/falco-<version>.tgz, no chart repository
  --values <file>                more Falco values after ${DEFAULT_DEPLOY_OPTIONS.falcoValuesFile} (repeatable)
  --kustomize <dir>              the receiver's manifests (default ${DEFAULT_DEPLOY_OPTIONS.kustomizeDir}): your overlay of k8s/
                                 with components (k8s/README.md). Falco values that change its URL
                                 need the matching component, e.g. helm-values/examples/falco-mtls.yaml
                                 with an overlay that adds k8s/components/mtls (port 8443).
  --ingest-path-secret-file <f>  the path secret (as in Secret falco-alert-receiver-ingest-path; of
                                 several lines, the first) for
                                 the ${PATH_SECRET_PLACEHOLDER} of helm-values/examples/falco-path-secret.yaml;
                                 handed to helm in a values file only you can read, removed afterwards
Namespace falco is fixed: k8s/ and the URL in helm-values/falco.yaml both name it.
`;

/** Shown in a dry run where the values file with the secret URL would be. */
const SECRET_URL_VALUES_SHOWN = '<values file with the URL, written at deploy time>';

interface ParsedCli {
  options: DeployOptions;
  dryRun: boolean;
  /** Falco's URL with the placeholder, and the secret that replaces it (--ingest-path-secret-file). */
  secretUrl?: { url: string; secret: string };
}

/** The same folder, through symlinks when both exist: `k8s`, `./k8s/` and /repo/k8s are one. */
function sameDirectory(a: string, b: string): boolean {
  const real = (dir: string) => (existsSync(dir) ? realpathSync(dir) : path.resolve(dir));
  return real(a) === real(b);
}

function parseCli(argv: string[]): ParsedCli | { help: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      'dry-run': { type: 'boolean', default: false },
      'falco-chart-version': { type: 'string', default: DEFAULT_DEPLOY_OPTIONS.falcoChartVersion },
      'charts-dir': { type: 'string' },
      values: { type: 'string', multiple: true, default: [] },
      kustomize: { type: 'string', default: DEFAULT_DEPLOY_OPTIONS.kustomizeDir },
      'ingest-path-secret-file': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return { help: USAGE };
  const secretFile = values['ingest-path-secret-file'];
  const read = secretFile === undefined ? undefined : readSecretFile(secretFile, '--ingest-path-secret-file');
  if (read && 'problem' in read) throw new Error(read.problem);
  // The first line is the one sensors are given; the others are still taken (a rotation).
  const fromFile = { secret: read?.secret };
  const output = readHttpOutput([DEFAULT_DEPLOY_OPTIONS.falcoValuesFile, ...values.values]);
  const problems = checkFalcoValues({
    output,
    baseManifests: sameDirectory(values.kustomize, DEFAULT_DEPLOY_OPTIONS.kustomizeDir),
    falcoChartVersion: values['falco-chart-version'],
    pathSecretFromFile: fromFile.secret !== undefined,
  });
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return {
    dryRun: values['dry-run'],
    options: {
      ...DEFAULT_DEPLOY_OPTIONS,
      falcoChartVersion: values['falco-chart-version'],
      chartsDir: values['charts-dir'],
      extraValuesFiles: values.values,
      kustomizeDir: values.kustomize,
    },
    secretUrl:
      fromFile.secret !== undefined && typeof output.url?.value === 'string'
        ? { url: output.url.value, secret: fromFile.secret }
        : undefined,
  };
}

/** Runs the deploy with the secret URL's values file layered last, and removes the file however it ends. */
async function deployWithSecretUrl(parsed: ParsedCli, deps: DeployDeps): Promise<number> {
  const { options, dryRun, secretUrl } = parsed;
  if (!secretUrl) return deploy(options, dryRun, deps);
  if (dryRun)
    return deploy(
      { ...options, extraValuesFiles: [...options.extraValuesFiles, SECRET_URL_VALUES_SHOWN] },
      true,
      deps,
    );
  const values = writeIngestUrlValues(secretUrl.url, secretUrl.secret);
  // Ctrl-C or a kill ends the process without running `finally`.
  const removeAndExit = (code: number) => () => {
    values.remove();
    process.exit(code);
  };
  process.once('SIGINT', removeAndExit(130));
  process.once('SIGTERM', removeAndExit(143));
  try {
    return await deploy(
      { ...options, extraValuesFiles: [...options.extraValuesFiles, values.file] },
      false,
      deps,
    );
  } finally {
    values.remove();
  }
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseCli(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if ('help' in parsed) {
    process.stdout.write(parsed.help);
    return 0;
  }
  return deployWithSecretUrl(parsed, {
    // The user's own environment: kubeconfig credential plugins may need any of its variables.
    run: (argv, options) =>
      runCommand(argv, { ...options, maxOutputChars: 4000, env: definedEnv(process.env) }),
    write: (line) => process.stdout.write(`${line}\n`),
  });
}

function definedEnv(source: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(source).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

process.exitCode = await main();
