import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createTurnTaker, GATHER_BACKOFF_TURNS, GATHER_BELOW } from '../../src/http/turn-taker.js';
import { createLineGroup } from '../../src/logging/line-group.js';

const ran = (turns: ReturnType<typeof createTurnTaker>, job: () => void) =>
  new Promise<void>((resolve) =>
    turns.run(() => {
      job();
      resolve();
    }),
  );

// A line group whose writes are recorded (or, with `fail`, throw EIO).
function recordingGroup(fail = false) {
  const writes: string[] = [];
  const group = createLineGroup({
    write: (text: string) => {
      if (fail) throw new Error('EIO');
      writes.push(text);
    },
  });
  return { writes, group };
}

function busyFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('createTurnTaker', () => {
  it('runs jobs in arrival order, never synchronously', async () => {
    const turns = createTurnTaker();
    const order: number[] = [];
    const all = Promise.all([1, 2, 3].map((n) => ran(turns, () => order.push(n))));
    expect(order).toEqual([]);
    await all;
    expect(order).toEqual([1, 2, 3]);
  });

  it('lets socket I/O that arrives during a job that used up the budget be handled before the next job', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    const peer = await accepted;
    const events: string[] = [];
    peer.on('data', () => events.push('data'));

    const turns = createTurnTaker(2);
    await Promise.all(
      [1, 2, 3].map((n) =>
        ran(turns, () => {
          events.push(`job ${n}`);
          // As a /healthz request would, this arrives while the alerts wait for their turn.
          if (n === 1) client.write('x');
          // A large alert: longer than the turn's budget.
          busyFor(5);
        }),
      ),
    );
    await expect.poll(() => events.includes('data')).toBe(true);
    expect(events.indexOf('data')).toBeLessThan(events.indexOf('job 3'));
    client.destroy();
    peer.destroy();
    server.close();
  });

  it('runs cheap jobs in one turn, and one slow job per turn', async () => {
    // A microtask queued by a job runs when its turn (its immediate) ends.
    const order = async (budgetMs: number, job: () => void) => {
      const turns = createTurnTaker(budgetMs);
      const events: string[] = [];
      await Promise.all(
        [1, 2, 3].map((n) =>
          ran(turns, () => {
            events.push(`job ${n}`);
            queueMicrotask(() => events.push(`end of turn after ${n}`));
            job();
          }),
        ),
      );
      return events.filter((event, i) => !(event.startsWith('end') && events[i - 1]?.startsWith('end')));
    };
    expect(await order(50, () => {})).toEqual(['job 1', 'job 2', 'job 3', 'end of turn after 1']);
    expect(await order(1, () => busyFor(2))).toEqual([
      'job 1',
      'end of turn after 1',
      'job 2',
      'end of turn after 2',
      'job 3',
      'end of turn after 3',
    ]);
  });

  it('counts who is waiting', async () => {
    const turns = createTurnTaker();
    const pending = [ran(turns, () => {}), ran(turns, () => {})];
    expect(turns.waiting()).toBe(2);
    await Promise.all(pending);
    expect(turns.waiting()).toBe(0);
  });
});

describe('createTurnTaker gathering a small turn', () => {
  // Jobs as alerts: each writes a line, and a turn's lines go out in one write. No time budget: a
  // slow machine cannot split a turn.
  function lineTurns(budgetMs = Infinity) {
    const { writes, group } = recordingGroup();
    const turns = createTurnTaker(budgetMs, group);
    const alert = (n: number) => ran(turns, () => group.write(`${n}\n`));
    const written = (n: number) => writes.some((write) => write.split('\n').includes(String(n)));
    // Whether the turn of alert `n` has run by the time an immediate queued right after it runs:
    // in the loop iteration its turn is due in, unless the turn waits.
    const startsAtOnce = async (n: number) => {
      const job = alert(n);
      const atOnce = await new Promise<boolean>((resolve) => setImmediate(() => resolve(written(n))));
      await job;
      return atOnce;
    };
    // A second alert, queued while the turn of the first is due (before the next poll phase).
    const alertPair = (n: number) =>
      Promise.all([
        alert(n),
        new Promise<void>((resolve) => setImmediate(() => void alert(n + 0.5).then(resolve))),
      ]);
    return { writes, alert, written, startsAtOnce, alertPair };
  }

  it("waits one loop iteration before a turn of fewer than GATHER_BELOW jobs: an alert read in that iteration's poll phase shares it", async () => {
    const { writes, alert } = lineTurns();
    // Paused on connect: a socket is read only once resumed, in the poll phase after that.
    const server = net.createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    const connectPair = async () => {
      const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
      const client = net.connect(port, '127.0.0.1');
      await new Promise((resolve) => client.once('connect', resolve));
      return { client, peer: await accepted };
    };
    const first = await connectPair();
    const second = await connectPair();
    const both = new Promise<void>((resolve) => {
      second.peer.once('data', () => void alert(2).then(resolve));
      // The first alert is read in a poll phase; the second socket, whose bytes are already here,
      // is read in the next one, while the first alert's turn waits.
      first.peer.once('data', () => {
        void alert(1);
        second.peer.resume();
      });
    });
    second.client.write('2');
    first.client.write('1');
    first.peer.resume();
    await both;
    expect(writes).toEqual(['1\n2\n']);
    for (const { client, peer } of [first, second]) {
      client.destroy();
      peer.destroy();
    }
    server.close();
  });

  it('waits one iteration, not more', async () => {
    const { written, alert } = lineTurns();
    const job = alert(1);
    const seen = await new Promise<boolean[]>((resolve) =>
      setImmediate(() => {
        const inItsIteration = written(1);
        setImmediate(() => resolve([inItsIteration, written(1)]));
      }),
    );
    await job;
    expect(seen).toEqual([false, true]);
  });

  it('starts a turn of GATHER_BELOW jobs at once', async () => {
    const { writes, alert } = lineTurns();
    const jobs = Array.from({ length: GATHER_BELOW }, (_, i) => alert(i + 1));
    const late = new Promise<void>((resolve) =>
      setImmediate(() => void alert(GATHER_BELOW + 1).then(resolve)),
    );
    await Promise.all([...jobs, late]);
    const first = Array.from({ length: GATHER_BELOW }, (_, i) => `${i + 1}\n`).join('');
    expect(writes).toEqual([first, `${GATHER_BELOW + 1}\n`]);
  });

  it('starts at once the turn that continues the jobs of one that used its budget', async () => {
    // A budget of 0: one job per turn. The pair's first turn waits, gathers the second alert and
    // runs the first; the turn that continues with the second must not wait again.
    const { alertPair, written } = lineTurns(0);
    const pair = alertPair(1);
    const seen = await new Promise<boolean[]>((resolve) =>
      setImmediate(() =>
        setImmediate(() => {
          const first = [written(1), written(1.5)];
          setImmediate(() => resolve([...first, written(1.5)]));
        }),
      ),
    );
    await pair;
    expect(seen).toEqual([true, false, true]);
  });

  it('after a wait that gathered nothing, starts the next GATHER_BACKOFF_TURNS new turns at once, then waits again', async () => {
    const { startsAtOnce } = lineTurns();
    // A lone alert: its wait gathers nothing.
    expect(await startsAtOnce(0)).toBe(false);
    const next: boolean[] = [];
    for (let n = 1; n <= GATHER_BACKOFF_TURNS + 1; n++) next.push(await startsAtOnce(n));
    expect(next).toEqual([...Array<boolean>(GATHER_BACKOFF_TURNS).fill(true), false]);
  });

  it('keeps waiting after a wait that gathered an alert', async () => {
    const { writes, alertPair, startsAtOnce } = lineTurns();
    await alertPair(1);
    expect(writes).toEqual(['1\n1.5\n']);
    expect(await startsAtOnce(2)).toBe(false);
  });
});

describe('createTurnTaker with a line group (group commit)', () => {
  it("writes the lines of a turn's jobs with one write, and answers each job only after it", async () => {
    const { writes, group } = recordingGroup();
    const turns = createTurnTaker(50, group);
    const seen: Array<{ job: number; writes: number; error: unknown }> = [];
    await Promise.all(
      [1, 2, 3].map(
        (n) =>
          new Promise<void>((resolve) =>
            turns.run(() => {
              group.write(`line ${n}\n`);
              turns.afterCommit((error) => {
                seen.push({ job: n, writes: writes.length, error });
                resolve();
              });
            }),
          ),
      ),
    );
    expect(writes).toEqual(['line 1\nline 2\nline 3\n']);
    expect(seen).toEqual([1, 2, 3].map((job) => ({ job, writes: 1, error: undefined })));
  });

  it("gives every answer of a turn the write's error when its lines could not be written", async () => {
    const { group } = recordingGroup(true);
    const turns = createTurnTaker(50, group);
    const errors = await Promise.all(
      [1, 2].map(
        (n) =>
          new Promise<unknown>((resolve) =>
            turns.run(() => {
              group.write(`line ${n}\n`);
              turns.afterCommit(resolve);
            }),
          ),
      ),
    );
    expect(errors.map((error) => (error as Error).message)).toEqual(['EIO', 'EIO']);
  });

  it("answers a turn's jobs once the store has their alerts, when it says to wait", async () => {
    const { group } = recordingGroup();
    let stored: () => void = () => {};
    const storing = new Promise<void>((resolve) => (stored = resolve));
    const turns = createTurnTaker(50, group, () => storing);
    let answered = false;
    await ran(turns, () => turns.afterCommit(() => (answered = true)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(false);

    stored();
    await storing;
    expect(answered).toBe(true);
  });

  it('answers at once when the store says there is nothing to wait for', async () => {
    const turns = createTurnTaker(50, recordingGroup().group, () => undefined);
    let answered = false;
    await ran(turns, () => turns.afterCommit(() => (answered = true)));
    expect(answered).toBe(true);
  });

  // An answer must not throw (its contract). One that does reaches the loop as an uncaught
  // exception: caught here instead of by the test runner, which would fail the file for it. The
  // runner's listeners come back on every path (a test below waits with a bound of its own, so a
  // stranded job fails it before the runner's timeout could skip this).
  async function withUncaught(test: (caught: unknown[]) => Promise<void>): Promise<void> {
    const runner = process.rawListeners('uncaughtException') as Array<(error: Error) => void>;
    const caught: unknown[] = [];
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', (error) => caught.push(error));
    try {
      await test(caught);
    } finally {
      process.removeAllListeners('uncaughtException');
      for (const listener of runner) process.on('uncaughtException', listener);
    }
  }

  // Jobs 1 to 3 each write a line and answer after the commit; answer 1 throws. `allAnswered`
  // says whether all three were answered within a second.
  const throwingFirstAnswer = (budgetMs: number) => {
    const { writes, group } = recordingGroup();
    const turns = createTurnTaker(budgetMs, group);
    const answered: number[] = [];
    const allAnswered = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 1_000);
      for (const n of [1, 2, 3])
        turns.run(() => {
          group.write(`line ${n}\n`);
          turns.afterCommit(() => {
            answered.push(n);
            if (answered.length === 3) {
              clearTimeout(timer);
              resolve(true);
            }
            if (n === 1) throw new Error('answer 1 threw');
          });
        });
    });
    return { writes, answered, allAnswered };
  };

  it.each([
    ['still answers the rest of a turn when one answer throws', 50, ['line 1\nline 2\nline 3\n']],
    // A budget of 0: one job per turn, so the turn whose answer throws leaves jobs 2 and 3 behind.
    [
      'still runs the jobs a turn left behind when one of its answers throws',
      0,
      ['line 1\n', 'line 2\n', 'line 3\n'],
    ],
  ])('%s', (_, budgetMs, commits) =>
    withUncaught(async (caught) => {
      const { writes, answered, allAnswered } = throwingFirstAnswer(budgetMs);
      expect(await allAnswered).toBe(true);
      expect(writes).toEqual(commits);
      expect(answered).toEqual([1, 2, 3]);
      expect(caught.map((error) => (error as Error).message)).toEqual(['answer 1 threw']);
    }),
  );

  it('answers at once when asked outside a turn', () => {
    const turns = createTurnTaker(50, recordingGroup().group);
    let answered = false;
    turns.afterCommit(() => (answered = true));
    expect(answered).toBe(true);
  });
});
