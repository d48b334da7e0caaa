// Generated from shared/falco/event-generator.md: event-generator syscall actions and the Falco rule
// each targets. `disabled`: registered WithDisabled(), runs only with --all (chart 0.4.0 passes it,
// chart 0.2.0 never does). `ruleEnabled`: whether the rule is enabled in the rules Falco ships.

/** One event-generator action and the rule it is written to trigger. */
export interface GeneratorAction {
  action: string;
  rule: string;
  disabled: boolean;
  ruleEnabled: boolean;
}

type Row = readonly [action: string, rule: string, disabled: boolean, ruleEnabled: boolean];

const toAction = ([action, rule, disabled, ruleEnabled]: Row): GeneratorAction => ({
  action,
  rule,
  disabled,
  ruleEnabled,
});

// v0.10: chart event-generator-0.2.0, rules falco-rules-0.1.0 (Falco 0.34.1)
const V0_10_ROWS: readonly Row[] = [
  ['syscall.ChangeThreadNamespace', 'Change thread namespace', true, false],
  ['syscall.CreateFilesBelowDev', 'Create files below dev', false, true],
  ['syscall.DbProgramSpawnedProcess', 'DB program spawned process', false, true],
  ['syscall.MkdirBinaryDirs', 'Mkdir binary dirs', false, true],
  ['syscall.ModifyBinaryDirs', 'Modify binary dirs', false, true],
  ['syscall.NonSudoSetuid', 'Non sudo setuid', false, true],
  ['syscall.ReadSensitiveFileTrustedAfterStartup', 'Read sensitive file trusted after startup', false, true],
  ['syscall.ReadSensitiveFileUntrusted', 'Read sensitive file untrusted', false, true],
  ['syscall.RunShellUntrusted', 'Run shell untrusted', false, true],
  ['syscall.ScheduleCronJobs', 'Schedule Cron Jobs', true, false],
  ['syscall.SystemProcsNetworkActivity', 'System procs network activity', false, true],
  ['syscall.SystemUserInteractive', 'System user interactive', false, true],
  ['syscall.UserMgmtBinaries', 'User mgmt binaries', false, true],
  ['syscall.WriteBelowBinaryDir', 'Write below binary dir', false, true],
  ['syscall.WriteBelowEtc', 'Write below etc', false, true],
  ['syscall.WriteBelowRpmDatabase', 'Write below rpm database', false, true],
];

// v0.13: chart event-generator-0.4.0, rules shipped with Falco 0.44.1
const V0_13_ROWS: readonly Row[] = [
  ['syscall.AddingSshKeysToAuthorizedKeys', 'Adding ssh keys to authorized_keys', true, true],
  ['syscall.ChangeNamespacePrivilegesViaUnshare', 'Change namespace privileges via unshare', true, true],
  ['syscall.ChangeThreadNamespace', 'Change thread namespace', true, true],
  ['syscall.ClearLogActivities', 'Clear Log Activities', false, true],
  [
    'syscall.ContactEC2InstanceMetadataServiceFromContainer',
    'Contact EC2 Instance Metadata Service From Container',
    true,
    true,
  ],
  ['syscall.ContainerDriftDetectedChmod', 'Container Drift Detected (chmod)', true, false],
  ['syscall.ContainerDriftDetectedOpenCreate', 'Container Drift Detected (open+create)', true, false],
  ['syscall.CreateFilesBelowDev', 'Create files below dev', true, true],
  ['syscall.CreateHardlinkOverSensitiveFiles', 'Create Hardlink Over Sensitive Files', false, true],
  ['syscall.CreateHiddenFilesOrDirectories', 'Create Hidden Files or Directories', true, false],
  ['syscall.CreateSymlinkOverSensitiveFiles', 'Create Symlink Over Sensitive Files', false, true],
  ['syscall.DbProgramSpawnedProcess', 'DB program spawned process', true, true],
  ['syscall.DebugfsLaunchedInPrivilegedContainer', 'Debugfs Launched in Privileged Container', false, true],
  ['syscall.DecodingPayloadInContainer', 'Decoding Payload in Container', true, true],
  ['syscall.DeleteOrRenameShellHistory', 'Delete or rename shell history', true, true],
  [
    'syscall.DetectCryptoMinersUsingTheStratumProtocol',
    'Detect crypto miners using the Stratum protocol',
    true,
    true,
  ],
  [
    'syscall.DetectReleaseAgentFileContainerEscapes',
    'Detect release_agent File Container Escapes',
    false,
    true,
  ],
  ['syscall.DirectoryTraversalMonitoredFileRead', 'Directory traversal monitored file read', false, true],
  [
    'syscall.DisallowedSSHConnectionNonStandardPort',
    'Disallowed SSH Connection Non Standard Port',
    false,
    true,
  ],
  ['syscall.DropAndExecuteNewBinaryInContainer', 'Drop and execute new binary in container', false, true],
  ['syscall.ExecutionFromDevShm', 'Execution from /dev/shm', false, true],
  ['syscall.FilelessExecutionViaMemfdCreate', 'Fileless execution via memfd_create', false, true],
  ['syscall.FindAwsCredentials', 'Find AWS Credentials', false, true],
  [
    'syscall.InterpretedProcsInboundNetworkActivity',
    'Interpreted procs inbound network activity',
    true,
    false,
  ],
  [
    'syscall.InterpretedProcsOutboundNetworkActivity',
    'Interpreted procs outbound network activity',
    true,
    false,
  ],
  ['syscall.JavaProcessClassFileDownload', 'Java Process Class File Download', true, false],
  [
    'syscall.KubernetesClientToolLaunchedInContainer',
    'Kubernetes Client Tool Launched in Container',
    true,
    true,
  ],
  [
    'syscall.LaunchIngressRemoteFileCopyToolsInContainer',
    'Launch Ingress Remote File Copy Tools in Container',
    true,
    true,
  ],
  [
    'syscall.LaunchPackageManagementProcessInContainer',
    'Launch Package Management Process in Container',
    true,
    true,
  ],
  ['syscall.LaunchRemoteFileCopyToolsInContainer', 'Launch Remote File Copy Tools in Container', true, true],
  [
    'syscall.LaunchSuspiciousNetworkToolInContainer',
    'Launch Suspicious Network Tool in Container',
    true,
    true,
  ],
  ['syscall.LaunchSuspiciousNetworkToolOnHost', 'Launch Suspicious Network Tool on Host', false, true],
  ['syscall.MkdirBinaryDirs', 'Mkdir binary dirs', true, true],
  ['syscall.ModifyBinaryDirs', 'Modify binary dirs', true, true],
  ['syscall.ModifyContainerEntrypoint', 'Modify Container Entrypoint', true, false],
  ['syscall.ModifyShellConfigurationFile', 'Modify Shell Configuration File', true, true],
  ['syscall.MountLaunchedInPrivilegedContainer', 'Mount Launched in Privileged Container', false, true],
  ['syscall.NetcatRemoteCodeExecutionInContainer', 'Netcat Remote Code Execution in Container', false, true],
  ['syscall.NonSudoSetuid', 'Non sudo setuid', true, true],
  ['syscall.PacketSocketCreatedInContainer', 'Packet socket created in container', false, true],
  [
    'syscall.PolkitLocalPrivilegeEscalationVulnerabilityCVE20214034',
    'Polkit Local Privilege Escalation Vulnerability (CVE-2021-4034)',
    true,
    true,
  ],
  [
    'syscall.PotentialLocalPrivilegeEscalationViaEnvironmentVariablesMisuse',
    'Potential Local Privilege Escalation via Environment Variables Misuse',
    true,
    true,
  ],
  ['syscall.ProgramRunWithDisallowedHttpProxyEnv', 'Program run with disallowed http proxy env', true, true],
  ['syscall.PtraceAntiDebugAttempt', 'PTRACE anti-debug attempt', false, true],
  ['syscall.PtraceAttachedToProcess', 'PTRACE attached to process', false, true],
  ['syscall.ReadEnvironmentVariableFromProcFiles', 'Read environment variable from /proc files', true, true],
  ['syscall.ReadSensitiveFileTrustedAfterStartup', 'Read sensitive file trusted after startup', false, true],
  ['syscall.ReadSensitiveFileUntrusted', 'Read sensitive file untrusted', false, true],
  ['syscall.ReadShellConfigurationFile', 'Read Shell Configuration File', true, false],
  ['syscall.ReadSshInformation', 'Read ssh information', true, true],
  ['syscall.RemoveBulkDataFromDisk', 'Remove Bulk Data from Disk', false, true],
  ['syscall.RunShellUntrusted', 'Run shell untrusted', false, true],
  ['syscall.ScheduleCronJobs', 'Schedule Cron Jobs', true, true],
  ['syscall.SearchPrivateKeysOrPasswords', 'Search Private Keys or Passwords', false, true],
  ['syscall.SetSetuidOrSetgidBit', 'Set Setuid or Setgid bit', true, true],
  ['syscall.SudoPotentialPrivilegeEscalation', 'Sudo Potential Privilege Escalation', true, true],
  ['syscall.SystemProcsNetworkActivity', 'System procs network activity', true, true],
  ['syscall.SystemUserInteractive', 'System user interactive', false, true],
  ['syscall.UnexpectedUDPTraffic', 'Unexpected UDP Traffic', true, true],
  [
    'syscall.UnprivilegedDelegationOfPageFaultsHandlingToAUserspaceProcess',
    'Unprivileged Delegation of Page Faults Handling to a Userspace Process',
    true,
    true,
  ],
  ['syscall.UserMgmtBinaries', 'User mgmt binaries', true, true],
  ['syscall.WriteBelowBinaryDir', 'Write below binary dir', true, true],
  ['syscall.WriteBelowEtc', 'Write below etc', true, true],
  ['syscall.WriteBelowMonitoredDir', 'Write below monitored dir', true, true],
  ['syscall.WriteBelowRoot', 'Write below root', true, true],
  ['syscall.WriteBelowRpmDatabase', 'Write below rpm database', true, true],
];

/** The event-generator versions whose action lists this service knows. */
export const GENERATOR_VERSIONS = ['v0.10', 'v0.13'] as const;
export type GeneratorVersion = (typeof GENERATOR_VERSIONS)[number];

/** Actions per event-generator version, plus whether that version's chart runs disabled actions. */
export const GENERATOR_ACTIONS: Record<
  GeneratorVersion,
  { runsDisabled: boolean; actions: readonly GeneratorAction[] }
> = {
  'v0.10': { runsDisabled: false, actions: V0_10_ROWS.map(toAction) },
  'v0.13': { runsDisabled: true, actions: V0_13_ROWS.map(toAction) },
};
