/**
 * Problems of the configuration found after loadConfig passed it: files it read that changed before
 * the part that uses them read them again. The start stops as for loadConfig's problems (main.ts).
 */
export class ConfigurationProblems extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}
