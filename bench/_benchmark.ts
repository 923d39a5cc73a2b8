/**
 * What a `bench/*.bench.ts` file tells `bench/run.ts`: its workloads, the variants to run for
 * each (every variant is a command, run in a fresh process that prints one `RESULT {json}`
 * line, see `_measure.ts`), and the ratios to report between them.
 */
import { fileURLToPath } from 'node:url';

/** One way of doing a workload, run as its own process. */
export interface Variant {
  /** Short stable id, used in ratios and on the command line. */
  id: string;
  /** What it is, one line for the table. */
  label: string;
  command: string[];
  env?: Record<string, string>;
}

/**
 * `numerator`'s headline / `denominator`'s headline, taken per round, then the median over
 * rounds. With a cost headline (time or memory per item) it is a cost ratio: lower is better.
 */
export interface Ratio {
  label: string;
  numerator: string;
  denominator: string;
  /** The runtime both sides ran on ('Node 26', 'Deno', 'Bun'): the column of the README table and the chart. */
  runtime?: string;
  /** The label of the metric compared; the workload's headline (its first metric) when not given. */
  metric?: string;
  /** The ratio this project aims for: at least `min`, at most `max`. */
  target?: { min?: number; max?: number };
}

/**
 * A column of the report, from each run's result: a rate (`per` 'bytes' or 'items': that field
 * over `seconds`, divided by `scale`), a time per item (`per` 'time': `seconds / items` times
 * `scale`), or a value the run reported (`per` 'value': `values[value]` divided by `scale`).
 * Times and values are costs: lower is better.
 */
export type Metric =
  | { label: string; per: 'bytes' | 'items'; scale: number }
  | { label: string; per: 'time'; scale: number }
  | { label: string; per: 'value'; value: string; scale: number };

export interface Workload {
  /** Short id (`w1`), matched by the command-line filter along with `name`. */
  id: string;
  name: string;
  /** One paragraph for the report: input, what a pass does, how it is timed. */
  description: string;
  /** Rate columns; the first one is the headline and the base of every ratio. */
  metrics: Metric[];
  variants: Variant[];
  ratios: Ratio[];
}

export interface Benchmark {
  name: string;
  workloads: Workload[];
}

/** The `RESULT` line a variant prints; rates are `bytes` or `items` over `seconds`. */
export interface Result {
  /** Median seconds of the timed passes. */
  seconds: number;
  passes: number[];
  bytes: number;
  items: number;
  /** SHA-256 of the input: every variant of a workload must read the same bytes. */
  digest: string;
  /** User + system CPU of the whole process. */
  cpuSeconds: number;
  /**
   * User + system CPU of each timed pass: on a shared machine, steadier than `passes` (another
   * process's load stretches wall time far more than the CPU a pass needs).
   */
  cpuPasses?: number[];
  maxRssMB: number;
  runtime: string;
  /** What a run measured besides time (heap bytes per connection, say), for `per: 'value'` metrics. */
  values?: Record<string, number>;
}

/** A variant run by this Node (with tsx) from a bench file: `file` is that module's `import.meta.url`. */
export function nodeVariant(id: string, label: string, file: string, args: string[]): Variant {
  return { id, label, command: [process.execPath, '--import', 'tsx', fileURLToPath(file), ...args] };
}

/** A variant run by a Python interpreter (`python3` under pyenv when `pyenvVersion` is given). */
export function pythonVariant(
  id: string,
  label: string,
  script: string,
  args: string[],
  interpreter: { python: string; pyenvVersion?: string },
): Variant {
  const variant: Variant = { id, label, command: [interpreter.python, fileURLToPath(script), ...args] };
  if (interpreter.pyenvVersion) variant.env = { PYENV_VERSION: interpreter.pyenvVersion };
  return variant;
}
