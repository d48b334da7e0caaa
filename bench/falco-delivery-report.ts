/** What one Falco delivered in a burst, beside what the receiver takes over the same transport. */
export interface FalcoDeliveryRow {
  falco: string;
  keepAlive: boolean;
  written: number;
  /** Alerts for the burst's files in Falco's own stdout. */
  emitted: number;
  received: number;
  /** Received per second between the first and the last receipt. */
  deliveredPerSecond: number;
  /** The burst's alerts per second of Falco's event time: the pace the writes happened at. */
  writtenPerSecond: number;
  /** How much the time from a write (evt.time) to its receipt grew over the burst: Falco's queue. */
  lagGrowthMs: number;
  /** CPU cores the receiver and Falco used while the alerts arrived. */
  receiverCores: number;
  falcoCores: number;
  outputErrors: number;
  /** The same body over the same transport (one connection) from the load generator. */
  capacityPerSecond: number;
  capacityFailures: number;
  payloadBytes: number;
  bottleneck: 'Falco (sender side)' | 'receiver';
}

/** The section's result: `skipped` says why no Falco ran; `failures` one line per Falco that broke. */
export interface FalcoDelivery {
  skipped?: string;
  rows: FalcoDeliveryRow[];
  failures: string[];
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');

/** The markdown section: per Falco, what it emitted and delivered beside the receiver's rate. */
export function renderFalcoDelivery(result: FalcoDelivery): string {
  const lines = ['## Real Falco delivery rates', ''];
  if (result.skipped !== undefined) return [...lines, `Skipped: ${result.skipped}.`, ''].join('\n');
  lines.push(
    '| Falco | transport | written | Falco emitted | received | Falco output errors | written/s (evt.time) | delivered/s | delay growth ms | CPU cores while arriving: receiver / Falco | receiver alone/s (same transport, 1 connection) | bottleneck |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...result.rows.map(
      (r) =>
        `| ${r.falco} | ${r.keepAlive ? 'one kept-alive connection' : 'a connection per alert'} | ${count(r.written)} | ${count(r.emitted)} | ${count(r.received)} | ${r.outputErrors} | ${count(r.writtenPerSecond)} | ${count(r.deliveredPerSecond)} | ${count(r.lagGrowthMs)} | ${r.receiverCores.toFixed(2)} / ${r.falcoCores.toFixed(2)} | ${count(r.capacityPerSecond)} (${r.payloadBytes} B body, ${r.capacityFailures} failed) | ${r.bottleneck} |`,
    ),
    '',
  );
  for (const failure of result.failures) lines.push(`- Not measured: ${failure}`);
  return lines.join('\n');
}
