import { parseArgs } from 'node:util';
import { deploy } from './deploy.js';
import { DEFAULT_DEPLOY_OPTIONS, type DeployOptions } from './deploy-plan.js';
import { runCommand } from '../runners/run-command.js';

const USAGE = `Usage: npm run deploy -- [--dry-run] [--falco-chart-version <version>] [--charts-dir <dir>] [--values <file>]... [--kustomize <dir>]

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
Namespace falco is fixed: k8s/ and the URL in helm-values/falco.yaml both name it.
`;

// Falco values that point Falco at a listener the base manifests do not have: alone they lose every alert.
const NEEDS_COMPONENT: Array<{ values: RegExp; component: string }> = [
  { values: /falco-mtls\.ya?ml$/, component: 'mtls' },
  { values: /falco-path-secret\.ya?ml$/, component: 'path-secret' },
];

function parseCli(argv: string[]): { options: DeployOptions; dryRun: boolean } | { help: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      'dry-run': { type: 'boolean', default: false },
      'falco-chart-version': { type: 'string', default: DEFAULT_DEPLOY_OPTIONS.falcoChartVersion },
      'charts-dir': { type: 'string' },
      values: { type: 'string', multiple: true, default: [] },
      kustomize: { type: 'string', default: DEFAULT_DEPLOY_OPTIONS.kustomizeDir },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return { help: USAGE };
  if (values.kustomize === DEFAULT_DEPLOY_OPTIONS.kustomizeDir) {
    for (const { values: pattern, component } of NEEDS_COMPONENT) {
      const file = values.values.find((name) => pattern.test(name));
      if (file)
        throw new Error(
          `${file} points Falco at a listener k8s/ alone does not have: pass --kustomize <dir>, an overlay of k8s/ that adds components/${component} (k8s/README.md).`,
        );
    }
  }
  return {
    dryRun: values['dry-run'],
    options: {
      ...DEFAULT_DEPLOY_OPTIONS,
      falcoChartVersion: values['falco-chart-version'],
      chartsDir: values['charts-dir'],
      extraValuesFiles: values.values,
      kustomizeDir: values.kustomize,
    },
  };
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
  return deploy(parsed.options, parsed.dryRun, {
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
