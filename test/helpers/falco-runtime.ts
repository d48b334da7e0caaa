import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');
/** The versions scripts/ci/unpack-falco.sh puts in .cache/falco-<version>/. */
export const UNPACKED_VERSIONS = ['0.34.1', '0.40.0'] as const;

/** One Falco to run: its binary, version and the files it loads. */
export interface FalcoRuntime {
  bin: string;
  /** `major.minor.patch` from `falco --version`. */
  version: string;
  config: string;
  rules: string[];
}

/** `falco --version` → `0.34.1`, or undefined when it does not run (missing libraries, not a file). */
export function readFalcoVersion(bin: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  try {
    const out = execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 20_000, stdio: 'pipe', env });
    return /Falco version:\s*(\d+\.\d+\.\d+)/.exec(out)?.[1];
  } catch {
    return undefined;
  }
}

/** Falco's config and rules beside its binary (`bin/../etc/falco`), else a package's `/etc/falco`. */
function filesFor(bin: string, env: NodeJS.ProcessEnv): { config: string; rules: string[] } {
  const beside = join(dirname(bin), '../etc/falco');
  const dir = env.FALCO_CONFIG_DIR ?? (existsSync(join(beside, 'falco.yaml')) ? beside : '/etc/falco');
  // 0.40 keeps "Write below root" in the sandbox rules file; load it when present.
  const rules = ['falco_rules.yaml', 'falco-sandbox_rules.yaml']
    .map((name) => join(dir, name))
    .filter((file) => existsSync(file));
  return { config: join(dir, 'falco.yaml'), rules };
}

function runtimeOf(bin: string, env: NodeJS.ProcessEnv): FalcoRuntime | undefined {
  const version = readFalcoVersion(bin, env);
  return version === undefined ? undefined : { bin, version, ...filesFor(bin, env) };
}

/**
 * The Falcos test/e2e runs: FALCO_BIN alone when set; else both runtimes scripts/ci unpacked;
 * else, locally, `falco` on PATH (Falco's own packages). `missing` says why one that should run
 * cannot. With CI=true a falco on PATH does not stand in for the unpacked builds: it would test one
 * era and skip both 0.34.1 and 0.40.0 without a word.
 */
export function findFalcoRuntimes(
  env: NodeJS.ProcessEnv = process.env,
  root = ROOT,
): { runtimes: FalcoRuntime[]; missing: string[] } {
  const override = env.FALCO_BIN;
  if (override) {
    const runtime = runtimeOf(override, env);
    return runtime
      ? { runtimes: [runtime], missing: [] }
      : { runtimes: [], missing: [`FALCO_BIN=${override} does not run (falco --version failed)`] };
  }
  const unpacked = UNPACKED_VERSIONS.map((version) =>
    join(root, '.cache', `falco-${version}`, 'bin', 'falco'),
  );
  const present = unpacked.filter((bin) => existsSync(bin));
  if (present.length > 0 || env.CI === 'true') {
    const runtimes = present.map((bin) => runtimeOf(bin, env)).filter((runtime) => runtime !== undefined);
    const missing = unpacked
      .filter((bin) => !runtimes.some((runtime) => runtime.bin === bin))
      .map((bin) => `${bin} is missing or does not run (scripts/ci/unpack-falco.sh, run-time packages)`);
    return { runtimes, missing };
  }
  const onPath = runtimeOf('falco', env);
  return onPath
    ? { runtimes: [onPath], missing: [] }
    : {
        runtimes: [],
        missing: ['no Falco: set FALCO_BIN, run scripts/ci/unpack-falco.sh, or install falco on PATH'],
      };
}

/** True when Falco `version` is at least 0.`minor` (every release so far is 0.x). */
export function isAtLeast(version: string, minor: number): boolean {
  const [major = 0, ownMinor = 0] = version.split('.').map(Number);
  return major > 0 || ownMinor >= minor;
}

/**
 * How far behind this machine's clock Falco `version` dates its events, in ms (negative: ahead).
 * Falco 0.34's libscap takes the boot time from the ctime of /proc/1 (scap_get_boot_time), which is
 * when that inode was made: every step the clock took since then (a VM resumed, NTP) puts its
 * evt.time off by as much (7.85 s on a machine here). The kernel may also drop that inode under
 * memory pressure and make it again later, with a new ctime: Falco 0.34 then stamps its alerts
 * that far in the future (-28,585 s here after 24 GB were freed from /dev/shm). 0.40.0's events
 * agree with the clock here.
 */
export function falcoClockLagMs(version: string): number {
  if (isAtLeast(version, 35)) return 0;
  const uptimeMs = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1000;
  return Date.now() - uptimeMs - statSync('/proc/1').ctimeMs;
}

/** Built by scripts/ci/unpack-falco.sh from scripts/ci/falco-skip-bpf-programs.c. */
export const SKIP_BPF_SHIM = join(ROOT, '.cache', 'falco-skip-bpf-programs.so');

/**
 * Environment for Falco's process. 0.35+ (here 0.40.0, libs 0.20.0) carries a `signal_deliver`
 * program that the verifier of newer kernels refuses, which stops the whole probe from loading;
 * Falco attaches it only for the signaldeliver event, which no rule or state needs. The shim turns
 * off that one program's loading; everything else Falco does is unchanged. Without the shim (not
 * built) Falco runs as it is.
 */
export function falcoEnv(runtime: FalcoRuntime, shim = SKIP_BPF_SHIM): Record<string, string> {
  if (!isAtLeast(runtime.version, 35) || !existsSync(shim)) return {};
  return { LD_PRELOAD: shim, FALCO_SKIP_BPF_PROGRAMS: 'signal_deliver' };
}

/** Falco before 0.35 takes `--modern-bpf`; later ones `engine.kind`. */
function engineArgs(version: string): string[] {
  return isAtLeast(version, 35) ? ['-o', 'engine.kind=modern_ebpf'] : ['--modern-bpf'];
}

/** How Falco should send: its http_output settings. */
export interface FalcoOutput {
  /** Always a 127.0.0.1 URL: Falco's output never leaves the machine. */
  url: string;
  userAgent?: string;
  /** false: Falco's own default, text alerts (text/plain); JSON unless set. */
  jsonOutput?: boolean;
  /** 0.36+: client certificate, key and the CA that signed the server's certificate. */
  mtls?: { cert: string; key: string; ca: string };
  /** More settings (`key=value`, `-o` syntax), applied after all of the above so they override them. */
  options?: string[];
}

/** Falco's argv: JSON output with the output property and tags, http_output at `output.url`. */
export function buildFalcoArgs(runtime: FalcoRuntime, output: FalcoOutput): string[] {
  const url = new URL(output.url);
  if (url.hostname !== '127.0.0.1') throw new Error(`Falco may only send to 127.0.0.1, not ${url.hostname}`);
  const options = [
    `json_output=${output.jsonOutput ?? true}`,
    'json_include_output_property=true',
    'json_include_tags_property=true',
    'http_output.enabled=true',
    `http_output.url=${output.url}`,
    // Kept on: Falco 0.34 prints response bodies there, which the suite checks for.
    'stdout_output.enabled=true',
    'syslog_output.enabled=false',
    'log_syslog=false',
    'log_stderr=true',
    'webserver.enabled=false',
    ...(output.userAgent ? [`http_output.user_agent=${output.userAgent}`] : []),
    ...(output.mtls
      ? [
          'http_output.mtls=true',
          `http_output.client_cert=${output.mtls.cert}`,
          `http_output.client_key=${output.mtls.key}`,
          `http_output.ca_cert=${output.mtls.ca}`,
        ]
      : []),
    ...(output.options ?? []),
  ];
  return [
    '-c',
    runtime.config,
    ...runtime.rules.flatMap((file) => ['-r', file]),
    ...engineArgs(runtime.version),
    ...options.flatMap((option) => ['-o', option]),
  ];
}
