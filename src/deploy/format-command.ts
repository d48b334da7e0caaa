const SAFE = /^[A-Za-z0-9_./:=@%+,-]+$/;

/** Shows an argv array as a line a user can paste into a POSIX shell (display only: never executed). */
export function formatCommand(command: string, args: readonly string[]): string {
  return [command, ...args]
    .map((word) => (SAFE.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`))
    .join(' ');
}
