import { execa } from 'execa';

/** One of the server's TCP sockets as the kernel holds it: its state and the bytes it has yet to send. */
export interface KernelSocket {
  state: string;
  unsent: number;
}

/**
 * The server's sockets on `port` that the kernel still holds (`ss`, Linux), TIME-WAIT left out:
 * those closed by the receiver whose bytes are still unsent stay here (FIN-WAIT-1) for as long as
 * their client acknowledges the kernel's window probes, whatever file descriptors are open.
 */
export async function serverSockets(port: number): Promise<KernelSocket[]> {
  const { stdout } = await execa('ss', ['-tnH', 'state', 'connected', 'sport', '=', `:${port}`]);
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields.length >= 4 && fields[0] !== 'TIME-WAIT')
    .map(([state, , unsent]) => ({ state: state!, unsent: Number(unsent) }));
}
