/**
 * Round ordering and Markdown helpers shared by the standalone modes of `echo.bench.ts` and
 * `bulk.bench.ts` (the same conventions as `run.ts`: medians over rounds, ratios taken per
 * round and their median).
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
