// Generated from shared/falco/event-generator.md: event-generator syscall actions and the Falco rule
// each targets. `disabled`: registered WithDisabled(), runs only with --all (chart 0.4.0 passes it,
// chart 0.2.0 never does). `ruleEnabled`: whether the rule is enabled in its rules file. `rulesFile`:
// the falcosecurity/rules file that holds it; Falco loads only the stable one (falco_rules.yaml)
// unless told otherwise (TRIGGER_FALCO_RULES). `runsInContainer`: false for the actions
// event-generator skips in a container (SKIPPED_IN_CONTAINERS, from its sources, not the reference).
// `needs`: what else an action needs of its container (NEEDS, from its sources too).

/** The falcosecurity/rules files, by maturity: falco_rules.yaml, falco-incubating_rules.yaml, falco-sandbox_rules.yaml. */
export const RULES_FILES = ['stable', 'incubating', 'sandbox'] as const;
export type RulesFile = (typeof RULES_FILES)[number];

/**
 * What an action needs of the container it runs in, for event-generator to run it or for Falco's
 * rule to match it: `privileged` (CAP_SYS_ADMIN, container.privileged=true), `unprivileged` (no
 * CAP_SYS_ADMIN), or `capsh` on PATH.
 */
export type PodNeed = 'privileged' | 'unprivileged' | 'capsh';

/** One event-generator action and the rule it is written to trigger. */
export interface GeneratorAction {
  action: string;
  rule: string;
  disabled: boolean;
  ruleEnabled: boolean;
  rulesFile: RulesFile;
  /** False: event-generator skips it in a container, so the Job pod of a run never starts it. */
  runsInContainer: boolean;
  /** What the Job pod must offer, or event-generator skips the action or Falco's rule stays quiet. */
  needs: readonly PodNeed[];
}

type Row = readonly [
  action: string,
  rule: string,
  disabled: boolean,
  ruleEnabled: boolean,
  rulesFile: RulesFile,
];

const toActions = (
  rows: readonly Row[],
  skippedInContainers: readonly string[],
  needs: Readonly<Record<string, readonly PodNeed[]>>,
): GeneratorAction[] =>
  rows.map(([action, rule, disabled, ruleEnabled, rulesFile]) => ({
    action,
    rule,
    disabled,
    ruleEnabled,
    rulesFile,
    runsInContainer: !skippedInContainers.includes(action),
    needs: needs[action] ?? [],
  }));

// v0.10: chart event-generator-0.2.0, rules falco-rules-0.1.0 (Falco 0.34.1), all in falco_rules.yaml
const V0_10_ROWS: readonly Row[] = [
  ['syscall.ChangeThreadNamespace', 'Change thread namespace', true, false, 'stable'],
  ['syscall.CreateFilesBelowDev', 'Create files below dev', false, true, 'stable'],
  ['syscall.DbProgramSpawnedProcess', 'DB program spawned process', false, true, 'stable'],
  ['syscall.MkdirBinaryDirs', 'Mkdir binary dirs', false, true, 'stable'],
  ['syscall.ModifyBinaryDirs', 'Modify binary dirs', false, true, 'stable'],
  ['syscall.NonSudoSetuid', 'Non sudo setuid', false, true, 'stable'],
  [
    'syscall.ReadSensitiveFileTrustedAfterStartup',
    'Read sensitive file trusted after startup',
    false,
    true,
    'stable',
  ],
  ['syscall.ReadSensitiveFileUntrusted', 'Read sensitive file untrusted', false, true, 'stable'],
  ['syscall.RunShellUntrusted', 'Run shell untrusted', false, true, 'stable'],
  ['syscall.ScheduleCronJobs', 'Schedule Cron Jobs', true, false, 'stable'],
  ['syscall.SystemProcsNetworkActivity', 'System procs network activity', false, true, 'stable'],
  ['syscall.SystemUserInteractive', 'System user interactive', false, true, 'stable'],
  ['syscall.UserMgmtBinaries', 'User mgmt binaries', false, true, 'stable'],
  ['syscall.WriteBelowBinaryDir', 'Write below binary dir', false, true, 'stable'],
  ['syscall.WriteBelowEtc', 'Write below etc', false, true, 'stable'],
  ['syscall.WriteBelowRpmDatabase', 'Write below rpm database', false, true, 'stable'],
];

// v0.13: chart event-generator-0.4.0, rules shipped with Falco 0.44.1 (stable falco-rules-5.1.0),
// else incubating 6.0.1 or sandbox 6.1.0
const V0_13_ROWS: readonly Row[] = [
  ['syscall.AddingSshKeysToAuthorizedKeys', 'Adding ssh keys to authorized_keys', true, true, 'incubating'],
  [
    'syscall.ChangeNamespacePrivilegesViaUnshare',
    'Change namespace privileges via unshare',
    true,
    true,
    'incubating',
  ],
  ['syscall.ChangeThreadNamespace', 'Change thread namespace', true, true, 'incubating'],
  ['syscall.ClearLogActivities', 'Clear Log Activities', false, true, 'stable'],
  [
    'syscall.ContactEC2InstanceMetadataServiceFromContainer',
    'Contact EC2 Instance Metadata Service From Container',
    true,
    true,
    'incubating',
  ],
  ['syscall.ContainerDriftDetectedChmod', 'Container Drift Detected (chmod)', true, false, 'sandbox'],
  [
    'syscall.ContainerDriftDetectedOpenCreate',
    'Container Drift Detected (open+create)',
    true,
    false,
    'sandbox',
  ],
  ['syscall.CreateFilesBelowDev', 'Create files below dev', true, true, 'incubating'],
  ['syscall.CreateHardlinkOverSensitiveFiles', 'Create Hardlink Over Sensitive Files', false, true, 'stable'],
  ['syscall.CreateHiddenFilesOrDirectories', 'Create Hidden Files or Directories', true, false, 'sandbox'],
  ['syscall.CreateSymlinkOverSensitiveFiles', 'Create Symlink Over Sensitive Files', false, true, 'stable'],
  ['syscall.DbProgramSpawnedProcess', 'DB program spawned process', true, true, 'incubating'],
  [
    'syscall.DebugfsLaunchedInPrivilegedContainer',
    'Debugfs Launched in Privileged Container',
    false,
    true,
    'stable',
  ],
  ['syscall.DecodingPayloadInContainer', 'Decoding Payload in Container', true, true, 'sandbox'],
  ['syscall.DeleteOrRenameShellHistory', 'Delete or rename shell history', true, true, 'incubating'],
  [
    'syscall.DetectCryptoMinersUsingTheStratumProtocol',
    'Detect crypto miners using the Stratum protocol',
    true,
    true,
    'sandbox',
  ],
  [
    'syscall.DetectReleaseAgentFileContainerEscapes',
    'Detect release_agent File Container Escapes',
    false,
    true,
    'stable',
  ],
  [
    'syscall.DirectoryTraversalMonitoredFileRead',
    'Directory traversal monitored file read',
    false,
    true,
    'stable',
  ],
  [
    'syscall.DisallowedSSHConnectionNonStandardPort',
    'Disallowed SSH Connection Non Standard Port',
    false,
    true,
    'stable',
  ],
  [
    'syscall.DropAndExecuteNewBinaryInContainer',
    'Drop and execute new binary in container',
    false,
    true,
    'stable',
  ],
  ['syscall.ExecutionFromDevShm', 'Execution from /dev/shm', false, true, 'stable'],
  ['syscall.FilelessExecutionViaMemfdCreate', 'Fileless execution via memfd_create', false, true, 'stable'],
  ['syscall.FindAwsCredentials', 'Find AWS Credentials', false, true, 'stable'],
  [
    'syscall.InterpretedProcsInboundNetworkActivity',
    'Interpreted procs inbound network activity',
    true,
    false,
    'sandbox',
  ],
  [
    'syscall.InterpretedProcsOutboundNetworkActivity',
    'Interpreted procs outbound network activity',
    true,
    false,
    'sandbox',
  ],
  ['syscall.JavaProcessClassFileDownload', 'Java Process Class File Download', true, false, 'sandbox'],
  [
    'syscall.KubernetesClientToolLaunchedInContainer',
    'Kubernetes Client Tool Launched in Container',
    true,
    true,
    'sandbox',
  ],
  [
    'syscall.LaunchIngressRemoteFileCopyToolsInContainer',
    'Launch Ingress Remote File Copy Tools in Container',
    true,
    true,
    'incubating',
  ],
  [
    'syscall.LaunchPackageManagementProcessInContainer',
    'Launch Package Management Process in Container',
    true,
    true,
    'incubating',
  ],
  [
    'syscall.LaunchRemoteFileCopyToolsInContainer',
    'Launch Remote File Copy Tools in Container',
    true,
    true,
    'incubating',
  ],
  [
    'syscall.LaunchSuspiciousNetworkToolInContainer',
    'Launch Suspicious Network Tool in Container',
    true,
    true,
    'incubating',
  ],
  [
    'syscall.LaunchSuspiciousNetworkToolOnHost',
    'Launch Suspicious Network Tool on Host',
    false,
    true,
    'incubating',
  ],
  ['syscall.MkdirBinaryDirs', 'Mkdir binary dirs', true, true, 'sandbox'],
  ['syscall.ModifyBinaryDirs', 'Modify binary dirs', true, true, 'sandbox'],
  ['syscall.ModifyContainerEntrypoint', 'Modify Container Entrypoint', true, false, 'sandbox'],
  ['syscall.ModifyShellConfigurationFile', 'Modify Shell Configuration File', true, true, 'incubating'],
  [
    'syscall.MountLaunchedInPrivilegedContainer',
    'Mount Launched in Privileged Container',
    false,
    true,
    'incubating',
  ],
  [
    'syscall.NetcatRemoteCodeExecutionInContainer',
    'Netcat Remote Code Execution in Container',
    false,
    true,
    'stable',
  ],
  ['syscall.NonSudoSetuid', 'Non sudo setuid', true, true, 'incubating'],
  ['syscall.PacketSocketCreatedInContainer', 'Packet socket created in container', false, true, 'stable'],
  [
    'syscall.PolkitLocalPrivilegeEscalationVulnerabilityCVE20214034',
    'Polkit Local Privilege Escalation Vulnerability (CVE-2021-4034)',
    true,
    true,
    'sandbox',
  ],
  [
    'syscall.PotentialLocalPrivilegeEscalationViaEnvironmentVariablesMisuse',
    'Potential Local Privilege Escalation via Environment Variables Misuse',
    true,
    true,
    'incubating',
  ],
  [
    'syscall.ProgramRunWithDisallowedHttpProxyEnv',
    'Program run with disallowed http proxy env',
    true,
    true,
    'incubating',
  ],
  ['syscall.PtraceAntiDebugAttempt', 'PTRACE anti-debug attempt', false, true, 'stable'],
  ['syscall.PtraceAttachedToProcess', 'PTRACE attached to process', false, true, 'stable'],
  [
    'syscall.ReadEnvironmentVariableFromProcFiles',
    'Read environment variable from /proc files',
    true,
    true,
    'incubating',
  ],
  [
    'syscall.ReadSensitiveFileTrustedAfterStartup',
    'Read sensitive file trusted after startup',
    false,
    true,
    'stable',
  ],
  ['syscall.ReadSensitiveFileUntrusted', 'Read sensitive file untrusted', false, true, 'stable'],
  ['syscall.ReadShellConfigurationFile', 'Read Shell Configuration File', true, false, 'sandbox'],
  ['syscall.ReadSshInformation', 'Read ssh information', true, true, 'incubating'],
  ['syscall.RemoveBulkDataFromDisk', 'Remove Bulk Data from Disk', false, true, 'stable'],
  ['syscall.RunShellUntrusted', 'Run shell untrusted', false, true, 'stable'],
  ['syscall.ScheduleCronJobs', 'Schedule Cron Jobs', true, true, 'incubating'],
  ['syscall.SearchPrivateKeysOrPasswords', 'Search Private Keys or Passwords', false, true, 'stable'],
  ['syscall.SetSetuidOrSetgidBit', 'Set Setuid or Setgid bit', true, true, 'incubating'],
  ['syscall.SudoPotentialPrivilegeEscalation', 'Sudo Potential Privilege Escalation', true, true, 'sandbox'],
  ['syscall.SystemProcsNetworkActivity', 'System procs network activity', true, true, 'incubating'],
  ['syscall.SystemUserInteractive', 'System user interactive', false, true, 'stable'],
  ['syscall.UnexpectedUDPTraffic', 'Unexpected UDP Traffic', true, true, 'incubating'],
  [
    'syscall.UnprivilegedDelegationOfPageFaultsHandlingToAUserspaceProcess',
    'Unprivileged Delegation of Page Faults Handling to a Userspace Process',
    true,
    true,
    'sandbox',
  ],
  ['syscall.UserMgmtBinaries', 'User mgmt binaries', true, true, 'incubating'],
  ['syscall.WriteBelowBinaryDir', 'Write below binary dir', true, true, 'sandbox'],
  ['syscall.WriteBelowEtc', 'Write below etc', true, true, 'sandbox'],
  ['syscall.WriteBelowMonitoredDir', 'Write below monitored dir', true, true, 'sandbox'],
  ['syscall.WriteBelowRoot', 'Write below root', true, true, 'sandbox'],
  ['syscall.WriteBelowRpmDatabase', 'Write below rpm database', true, true, 'sandbox'],
];

// event-generator returns ErrSkipped ("not applicable to containers") for these when its
// /proc/1/cmdline is its own, as in the chart's Job pod (events/syscall/user_mgmt_binaries.go,
// launch_suspicious_network_tool_on_host.go at v0.10.0 and v0.13.0); their rules need a host process
// too (Falco 0.34.1's "User mgmt binaries" says `not container`). Expected, they could only be missed.
const V0_10_SKIPPED_IN_CONTAINERS = ['syscall.UserMgmtBinaries'];
const V0_13_SKIPPED_IN_CONTAINERS = ['syscall.LaunchSuspiciousNetworkToolOnHost', 'syscall.UserMgmtBinaries'];

// event-generator v0.13.0 reads CapEff from /proc/self/status and decodes it with `capsh --decode`
// (checkCapability, events/syscall/detect_release_agent_file_container_escapes.go). The v0.13.0
// image (Dockerfile: debian:bookworm-slim + libcap-dev) has no capsh: that is in libcap2-bin, which
// neither libcap-dev nor the other packages it installs pull in, so checkCapability always fails:
// - ChangeThreadNamespace, DebugfsLaunchedInPrivilegedContainer, MountLaunchedInPrivilegedContainer
//   skip ("privileged container required") only when the check succeeds; failing, it falls through
//   and they run in any pod. Falco's Debugfs and Mount rules say `container.privileged=true`, so only
//   a privileged pod triggers them; its "Change thread namespace" asks nothing of the container.
// - DetectReleaseAgentFileContainerEscapes and ChangeNamespacePrivilegesViaUnshare return the
//   check's own ErrSkipped ("capsh utility is required"), so they never run in a chart's pod,
//   privileged or not (their rules want CAP_SYS_ADMIN, or its absence). v0.10.0 checks no capability.
// A chart pod's container gets no securityContext unless asked (TRIGGER_EVENT_GENERATOR_PRIVILEGED).
const V0_13_NEEDS: Record<string, readonly PodNeed[]> = {
  'syscall.ChangeNamespacePrivilegesViaUnshare': ['unprivileged', 'capsh'],
  'syscall.DebugfsLaunchedInPrivilegedContainer': ['privileged'],
  'syscall.DetectReleaseAgentFileContainerEscapes': ['privileged', 'capsh'],
  'syscall.MountLaunchedInPrivilegedContainer': ['privileged'],
};

/** The event-generator versions whose action lists this service knows. */
export const GENERATOR_VERSIONS = ['v0.10', 'v0.13'] as const;
export type GeneratorVersion = (typeof GENERATOR_VERSIONS)[number];

/**
 * Actions per event-generator version, whether that version's chart runs disabled actions, and the
 * image tag of that version (the chart's appVersion, as its releases tag the image): both charts
 * default image.tag to "latest", which would run whatever event-generator is newest.
 */
export const GENERATOR_ACTIONS: Record<
  GeneratorVersion,
  { runsDisabled: boolean; imageTag: string; actions: readonly GeneratorAction[] }
> = {
  'v0.10': {
    runsDisabled: false,
    imageTag: '0.10.0',
    actions: toActions(V0_10_ROWS, V0_10_SKIPPED_IN_CONTAINERS, {}),
  },
  'v0.13': {
    runsDisabled: true,
    imageTag: '0.13.0',
    actions: toActions(V0_13_ROWS, V0_13_SKIPPED_IN_CONTAINERS, V0_13_NEEDS),
  },
};
