import { createConnection, createServer, type Socket } from 'node:net';

/** Commands held on their way to Redis, until released. */
export interface HeldCommands {
  /** Resolves once a held command has reached the proxy. */
  seen: Promise<void>;
  /** Sends on what was held, and lets the link's later commands through. */
  release(): void;
}

/** A TCP proxy in front of a Redis, which can hold one link's commands (a read made slow at will). */
export interface RedisProxy {
  url: string;
  /**
   * Holds what the link named `name` (CLIENT SETNAME) sends from its next `command` on: Redis sees
   * none of it, so its replies, and those of every command behind it on that link, wait.
   */
  hold(name: string, command: string): HeldCommands;
  /**
   * Sends the links opened from now on to the Redis at `redisPort` (as a Service whose endpoint
   * moved to a promoted replica); the links already open stay where they are.
   */
  retarget(redisPort: number): void;
  close(): Promise<void>;
}

// A RESP bulk string, as node-redis sends each argument.
const bulk = (text: string) => `$${Buffer.byteLength(text)}\r\n${text}\r\n`;

/** Starts a proxy on 127.0.0.1 to the Redis at `redisPort`. */
export async function startRedisProxy(firstPort: number): Promise<RedisProxy> {
  let redisPort = firstPort;
  const links: Array<{ sent: string; hold(chunk: Buffer): boolean }> = [];
  let rule: { name: string; command: string; saw(): void; queued: Array<() => void> } | undefined;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection(redisPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const link = {
      // The handshake, which names the link.
      sent: '',
      hold(chunk: Buffer): boolean {
        if (link.sent.length < 4096) link.sent += chunk.toString('latin1');
        const current = rule;
        if (!current || !link.sent.includes(`SETNAME\r\n${bulk(current.name)}`)) return false;
        if (current.queued.length > 0 || chunk.includes(bulk(current.command))) {
          current.saw();
          current.queued.push(() => upstream.write(chunk));
          return true;
        }
        return false;
      },
    };
    links.push(link);
    client.on('data', (chunk: Buffer) => {
      if (!link.hold(chunk)) upstream.write(chunk);
    });
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    hold(name, command) {
      let saw!: () => void;
      const seen = new Promise<void>((resolve) => (saw = resolve));
      const current = { name, command, saw, queued: [] as Array<() => void> };
      rule = current;
      return {
        seen,
        release() {
          if (rule === current) rule = undefined;
          for (const send of current.queued) send();
        },
      };
    },
    retarget(port) {
      redisPort = port;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
