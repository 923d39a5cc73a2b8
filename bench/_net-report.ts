/**
 * Round ordering and Markdown helpers shared by the standalone modes of `echo.bench.ts`,
 * `http.bench.ts` and `bulk.bench.ts` (the same conventions as `run.ts`: medians over rounds,
 * ratios taken per round and their median), and the servers' table of the first two.
 */
import { writeFileSync } from 'node:fs';
import { median } from './_measure.ts';

export { median };

/**
 * The order of round `round` (0-based): rotated by the round number and reversed every
 * other round, so every item runs early, late, and after each of the others.
 */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  const shift = round % items.length;
  const rotated = [...items.slice(shift), ...items.slice(0, shift)];
  return round % 2 ? rotated.reverse() : rotated;
}

export function format(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(Math.abs(value) >= 10 ? 1 : 2);
}

export function row(cells: readonly (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

export function medianOf(values: readonly (number | null)[]): number | null {
  const known = values.filter((value): value is number => value !== null && Number.isFinite(value));
  return known.length ? median(known) : null;
}

export function range(values: readonly number[]): string {
  return values.length ? `${format(Math.min(...values))}..${format(Math.max(...values))}` : '-';
}

/** Per-round ratios `numerator / denominator` (NaN where a round lacks one) and their median. */
export function perRoundRatios(
  rounds: number,
  value: (round: number, id: string) => number | null,
  numerator: string,
  denominator: string,
): { perRound: number[]; median: number | null } {
  const perRound = Array.from({ length: rounds }, (_, round) => {
    const top = value(round, numerator);
    const bottom = value(round, denominator);
    return top !== null && bottom !== null && bottom > 0 ? top / bottom : NaN;
  });
  return { perRound, median: medianOf(perRound) };
}

/** `yes`, `**no**`, or empty when unknown: the `met` cell of a target row. */
export function met(value: number | null, min: number): string {
  if (value === null) return '';
  return value >= min ? 'yes' : '**no**';
}

/**
 * Ends a benchmark run: writes every run as JSON when asked, prints the report, and lists the
 * failed runs (which make the process exit with 1).
 */
export function finish<T extends { failures: readonly string[] }>(json: string | null | undefined, record: T, text: string): void {
  if (json) writeFileSync(json, JSON.stringify(record, null, 2));
  console.log(text);
  if (record.failures.length) {
    console.log(`\nFailed runs:\n\n${record.failures.map((failure) => `- ${failure}`).join('\n')}`);
    process.exitCode = 1;
  }
}

/** A run of a server benchmark (`echo.bench.ts`, `http.bench.ts`), as the shared table reads it. */
export interface ServerRun {
  round: number;
  server: string;
  connections: number;
  requestsPerSecond: number;
  /** Server CPU per request, µs. */
  serverUsPerRequest: number | null;
  otherCores: number | null;
  serverPeakRssMB: number | null;
}

/**
 * The runs of (server, N), and per-round values for `perRoundRatios()`: requests per second,
 * and requests per server CPU second (the comparison a saturated client cannot flatten).
 */
export function serverRuns<R extends ServerRun>(runs: readonly R[]) {
  const find = (n: number, round: number, id: string) => runs.find((run) => run.round === round && run.server === id && run.connections === n);
  return {
    of: (id: string, n: number) => runs.filter((run) => run.server === id && run.connections === n),
    rate: (n: number) => (round: number, id: string) => find(n, round, id)?.requestsPerSecond ?? null,
    cpuRate: (n: number) => (round: number, id: string) => {
      const us = find(n, round, id)?.serverUsPerRequest;
      return us ? 1 / us : null;
    },
  };
}

/**
 * The table of servers, fastest at the last N first: per N the median req/s, its range, the
 * ratio to `net` (when run), the server's µs/req and the other cores; then `extra` columns and
 * the peak RSS.
 */
export function serverTable<R extends ServerRun>(
  options: { rounds: number; servers: readonly string[]; connections: readonly number[] },
  runs: readonly R[],
  extra: { header: string; cell(runs: readonly R[]): string }[] = [],
): string[] {
  const { of, rate } = serverRuns(runs);
  const hasNet = options.servers.includes('net');
  const header: string[] = ['server'];
  const align: string[] = ['---'];
  for (const n of options.connections) {
    header.push(`req/s N=${n}`, `min..max N=${n}`, ...(hasNet ? [`x net N=${n}`] : []), `µs/req N=${n}`, `other N=${n}`);
    align.push('---:', '---:', ...(hasNet ? ['---:'] : []), '---:', '---:');
  }
  header.push(...extra.map((column) => column.header), 'maxRSS MB');
  align.push(...extra.map(() => '---:'), '---:');
  const lines = [row(header), row(align)];
  const lastN = options.connections[options.connections.length - 1]!;
  const rateAt = (id: string) => medianOf(of(id, lastN).map((run) => run.requestsPerSecond)) ?? 0;
  for (const id of [...options.servers].sort((a, b) => rateAt(b) - rateAt(a))) {
    const cells: string[] = [`\`${id}\``];
    for (const n of options.connections) {
      const mine = of(id, n);
      const rates = mine.map((run) => run.requestsPerSecond);
      cells.push(format(medianOf(rates)), range(rates));
      if (hasNet) cells.push(format(perRoundRatios(options.rounds, rate(n), id, 'net').median));
      cells.push(format(medianOf(mine.map((run) => run.serverUsPerRequest))), format(medianOf(mine.map((run) => run.otherCores))));
    }
    const all = runs.filter((run) => run.server === id);
    cells.push(...extra.map((column) => column.cell(all)), format(medianOf(all.map((run) => run.serverPeakRssMB))));
    lines.push(row(cells));
  }
  return lines;
}
