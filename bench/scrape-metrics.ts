/** Sums every sample of one metric family in Prometheus text, and counts its series. */
export function sumMetric(text: string, name: string): { sum: number; series: number } {
  let sum = 0;
  let series = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    series += 1;
  }
  return { sum, series };
}

/** GET /metrics on a fresh connection each time, so a cluster answers from different workers. */
export async function scrape(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`, { headers: { connection: 'close' } });
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  return response.text();
}
