/**
 * The variant-process side of a benchmark: warm-up passes, then timed passes, every pass
 * checked against what the input must give, and one `RESULT {json}` line for `run.ts`.
 */
import type { Result } from './_benchmark.ts';
import { runtimeName } from './_runtimes.ts';

/** What one pass read: the driver checks it against the input. */
export interface Outcome {
  bytes: number;
  items: number;
}

export interface MeasureOptions {
  warmup: number;
  reps: number;
  expected: Outcome;
  digest: string;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `pass` warmup + reps times (timing each one, checking each outcome) and prints the RESULT line. */
export async function measure(pass: () => Promise<Outcome> | Outcome, options: MeasureOptions): Promise<void> {
  const passes: number[] = [];
  const cpuPasses: number[] = [];
  for (let i = 0; i < options.warmup + options.reps; i++) {
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    const outcome = await pass();
    const seconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    if (outcome.bytes !== options.expected.bytes || outcome.items !== options.expected.items) {
      throw new Error(
        `pass read ${outcome.bytes} bytes / ${outcome.items} items, ` +
          `expected ${options.expected.bytes} / ${options.expected.items}`,
      );
    }
    if (i >= options.warmup) {
      passes.push(seconds);
      cpuPasses.push((cpu.user + cpu.system) / 1e6);
    }
  }
  const usage = process.resourceUsage();
  const result: Result = {
    seconds: median(passes),
    passes,
    bytes: options.expected.bytes,
    items: options.expected.items,
    digest: options.digest,
    cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    cpuPasses,
    values: { cpuMicrosPerItem: options.expected.items > 0 ? (median(cpuPasses) / options.expected.items) * 1e6 : NaN },
    maxRssMB: usage.maxRSS / 1024,
    runtime: runtimeName(),
  };
  console.log(`RESULT ${JSON.stringify(result)}`);
}
