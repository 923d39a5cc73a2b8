/**
 * Runs the benchmarks of `bench/*.bench.ts` and prints Markdown tables (progress goes to stderr).
 *
 *   npm run bench                      every benchmark file, 5 rounds
 *   npm run bench -- reader            only what matches: a file, benchmark or workload name/id
 *   npm run bench -- w1 --rounds 3 --variants ours-push,node-readline --json /tmp/w1.json
 *   npm run bench -- --quiet-wait 0   do not wait for other processes to go quiet (default 10 s)
 *
 * Every variant runs in a fresh process, every round runs all of them in a new random order,
 * and before each run the driver waits (bounded) for the machine to be quiet. A table gives
 * the median over rounds of each variant's in-process median; a ratio is taken per round (both
 * sides measured in the same round, so drift cancels) and its median reported. `other cores`
 * is the CPU that processes not ours used during a run, from /proc/stat: when it is not near
 * 0, another workload was competing. `--json FILE` keeps every run and each workload's ratios
 * (with the runtime each was taken on), which `chart.ts` turns into the README's tables and chart.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Benchmark, Metric, Ratio, Result, Variant, Workload } from './_benchmark.ts';
import { median } from './_measure.ts';

interface Options {
  filters: string[];
  rounds: number;
  variants: string[] | null;
  json: string | null;
  /** Seconds to wait at most, before each run, for other processes to stop using the CPU. */
  quietWait: number;
}

interface Selected {
  file: string;
  benchmark: string;
  workload: Workload;
  variants: Variant[];
}

interface Run {
  round: number;
  workload: string;
  variant: string;
  result: Result | null;
  error: string | null;
  wallSeconds: number;
  otherCores: number | null;
}

const RUN_TIME_LIMIT_MS = 10 * 60 * 1000;
const QUIET_CORES = 0.3;
const benchDir = new URL('.', import.meta.url);

function parseOptions(args: string[]): Options {
  const options: Options = { filters: [], rounds: 5, variants: null, json: null, quietWait: 10 };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.startsWith('--') ? arg.split('=', 2) : [arg, undefined];
    const value = () => inline ?? args[++i] ?? '';
    if (flag === '--rounds') options.rounds = Number(value());
    else if (flag === '--variants') options.variants = value().split(',').filter(Boolean);
    else if (flag === '--json') options.json = value();
    else if (flag === '--quiet-wait') options.quietWait = Number(value());
    else if (arg.startsWith('--')) throw new Error(`unknown option '${arg}'`);
    else options.filters.push(arg.toLowerCase());
  }
  if (!Number.isInteger(options.rounds) || options.rounds < 1) throw new Error('--rounds wants a positive integer');
  if (!(options.quietWait >= 0)) throw new Error('--quiet-wait wants a number of seconds');
  return options;
}

async function select(options: Options): Promise<Selected[]> {
  const files = readdirSync(benchDir).filter((name) => name.endsWith('.bench.ts')).sort();
  const selected: Selected[] = [];
  for (const file of files) {
    const stem = basename(file, '.bench.ts');
    let benchmark: Benchmark | undefined;
    try {
      ({ benchmark } = (await import(new URL(file, benchDir).href)) as { benchmark?: Benchmark });
    } catch (error) {
      // One broken file must not stop the others: say so and go on.
      console.error(`skipping ${file}: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    if (!benchmark) throw new Error(`${file} exports no 'benchmark'`);
    for (const workload of benchmark.workloads) {
      const names = [stem, benchmark.name, workload.id, workload.name].map((name) => name.toLowerCase());
      if (options.filters.length && !options.filters.some((filter) => names.some((name) => name.includes(filter)))) {
        continue;
      }
      const variants = workload.variants.filter((variant) => !options.variants || options.variants.includes(variant.id));
      if (variants.length) selected.push({ file, benchmark: benchmark.name, workload, variants });
    }
  }
  return selected;
}

/** Busy and total jiffies of all CPUs, or null where /proc/stat does not exist. */
function cpuTimes(): { busy: number; total: number } | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    const busy = user + nice + system + irq + softirq + steal;
    return { busy, total: busy + idle + iowait };
  } catch {
    return null;
  }
}

const ticksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

/** Waits until the machine has been quiet for half a second, or gives up after `seconds`. */
async function waitForQuiet(seconds: number): Promise<void> {
  if (seconds === 0) return;
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const before = cpuTimes();
    await sleep(500);
    const after = cpuTimes();
    if (!before || !after) return;
    const cores = (after.busy - before.busy) / ticksPerSecond / 0.5;
    if (cores < QUIET_CORES) return;
    if (Date.now() > deadline) {
      console.error(`  (machine still busy: ${cores.toFixed(2)} cores in use; running anyway)`);
      return;
    }
  }
}

function runOnce(round: number, workload: Workload, variant: Variant): Run {
  const [command, ...args] = variant.command;
  const before = cpuTimes();
  const start = performance.now();
  const child = spawnSync(command!, args, {
    env: { ...process.env, ...variant.env },
    encoding: 'utf8',
    timeout: RUN_TIME_LIMIT_MS,
    maxBuffer: 16 * 1024 * 1024,
  });
  const wallSeconds = (performance.now() - start) / 1000;
  const after = cpuTimes();
  const line = child.stdout?.split('\n').find((text) => text.startsWith('RESULT '));
  const run: Run = { round, workload: workload.id, variant: variant.id, result: null, error: null, wallSeconds, otherCores: null };
  if (child.status !== 0 || !line) {
    const why = child.error ? String(child.error) : `exit ${child.status ?? child.signal}`;
    run.error = `${why}: ${(child.stderr ?? '').trim().split('\n').slice(-5).join(' | ')}`;
    return run;
  }
  run.result = JSON.parse(line.slice('RESULT '.length)) as Result;
  if (before && after) {
    const busy = (after.busy - before.busy) / ticksPerSecond;
    run.otherCores = Math.max(0, (busy - run.result.cpuSeconds) / wallSeconds);
  }
  return run;
}

/** The metric's figure for one run (see `Metric`). */
function rate(result: Result, metric: Metric): number {
  if (metric.per === 'time') return (result.seconds / result.items) * metric.scale;
  if (metric.per === 'value') return (result.values?.[metric.value] ?? NaN) / metric.scale;
  return result[metric.per] / result.seconds / metric.scale;
}

/** Time and value metrics are costs. */
function lowerIsBetter(metric: Metric): boolean {
  return metric.per === 'time' || metric.per === 'value';
}

/** A ratio's per-round values and their median: what the report prints and `--json` keeps. */
interface RatioSummary {
  label: string;
  runtime: string | null;
  numerator: string;
  denominator: string;
  median: number | null;
  perRound: (number | null)[];
  target: Ratio['target'] | null;
}

/** What `--json` keeps of a workload besides its runs: enough for `chart.ts` to draw it. */
interface WorkloadSummary {
  workload: string;
  name: string;
  file: string;
  headline: string;
  /** The headline is a cost (time or memory per item): a ratio below 1 favours the numerator. */
  lowerIsBetter: boolean;
  ratios: RatioSummary[];
}

function summarize(selected: Selected, runs: Run[], rounds: number): WorkloadSummary {
  const { workload } = selected;
  const headline = workload.metrics[0]!;
  const ok = runs.filter((run) => run.workload === workload.id && run.result);
  const has = (id: string) => ok.some((run) => run.variant === id);
  const ratios = workload.ratios
    .filter((ratio) => has(ratio.numerator) && has(ratio.denominator))
    .map((ratio): RatioSummary => {
      const metric = workload.metrics.find((candidate) => candidate.label === ratio.metric) ?? headline;
      const perRound = Array.from({ length: rounds }, (_, i) => {
        const numerator = ok.find((run) => run.round === i + 1 && run.variant === ratio.numerator);
        const denominator = ok.find((run) => run.round === i + 1 && run.variant === ratio.denominator);
        return numerator && denominator ? rate(numerator.result!, metric) / rate(denominator.result!, metric) : NaN;
      });
      const valid = perRound.filter(Number.isFinite);
      return {
        label: ratio.metric ? `${ratio.label} (${metric.label})` : ratio.label,
        runtime: ratio.runtime ?? null,
        numerator: ratio.numerator,
        denominator: ratio.denominator,
        median: valid.length ? median(valid) : null,
        perRound: perRound.map((value) => (Number.isFinite(value) ? value : null)),
        target: ratio.target ?? null,
      };
    });
  return {
    workload: workload.id,
    name: workload.name,
    file: selected.file,
    headline: headline.label,
    lowerIsBetter: lowerIsBetter(headline),
    ratios,
  };
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

function format(value: number): string {
  if (!Number.isFinite(value)) return '-';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(Math.abs(value) >= 10 ? 1 : 2);
}

function row(cells: (string | number)[]): string {
  return `| ${cells.join(' | ')} |`;
}

function report(selected: Selected, runs: Run[], rounds: number): string {
  const { workload, variants } = selected;
  const [headline] = workload.metrics;
  const ok = runs.filter((run) => run.workload === workload.id && run.result);
  const lines: string[] = [`### ${workload.id.toUpperCase()} ${workload.name} (${selected.file})`, '', workload.description];
  const runtimes = [...new Set(ok.map((run) => run.result!.runtime))].join(', ');
  lines.push('', `${rounds} round${rounds === 1 ? '' : 's'}, a fresh process per variant, order shuffled every round. Runtimes: ${runtimes}.`, '');

  const digests = new Set(ok.map((run) => run.result!.digest));
  if (digests.size > 1) lines.push(`**Input mismatch: the variants read ${digests.size} different inputs.**`, '');

  lines.push(
    row(['variant', ...workload.metrics.map((metric) => `median ${metric.label}`), `min..max ${headline!.label}`, 'maxRSS MB', 'other cores', 'n']),
    row(['---', ...workload.metrics.map(() => '---:'), '---:', '---:', '---:', '---:']),
  );
  const byVariant = (id: string) => ok.filter((run) => run.variant === id);
  const headlineMedian = (id: string) => median(byVariant(id).map((run) => rate(run.result!, headline!)));
  const direction = lowerIsBetter(headline!) ? -1 : 1;
  const ordered = variants
    .filter((variant) => byVariant(variant.id).length)
    .sort((a, b) => direction * (headlineMedian(b.id) - headlineMedian(a.id)));
  for (const variant of ordered) {
    const mine = byVariant(variant.id);
    const rates = mine.map((run) => rate(run.result!, headline!));
    const others = mine.map((run) => run.otherCores).filter((cores): cores is number => cores !== null);
    lines.push(
      row([
        `\`${variant.id}\``,
        ...workload.metrics.map((metric) => format(median(mine.map((run) => rate(run.result!, metric))))),
        `${format(Math.min(...rates))}..${format(Math.max(...rates))}`,
        format(median(mine.map((run) => run.result!.maxRssMB))),
        others.length ? median(others).toFixed(2) : '-',
        mine.length,
      ]),
    );
  }
  lines.push('');
  for (const variant of variants) lines.push(`- \`${variant.id}\`: ${variant.label}`);

  const { ratios } = summarize(selected, runs, rounds);
  if (ratios.length) {
    const roundNumbers = Array.from({ length: rounds }, (_, i) => i + 1);
    lines.push(
      '',
      `Ratios of ${headline!.label} (unless another metric is named), per round (numerator and denominator from the same round) and their median:`,
      '',
      row(['ratio', 'median', ...roundNumbers.map((round) => `r${round}`), 'target', 'met']),
      row(['---', '---:', ...roundNumbers.map(() => '---:'), '---:', ':---:']),
    );
    for (const ratio of ratios) {
      const value = ratio.median ?? NaN;
      const { min, max } = ratio.target ?? {};
      const target = [min !== undefined ? `>= ${min}` : '', max !== undefined ? `<= ${max}` : ''].filter(Boolean).join(', ');
      const met = !ratio.target || !Number.isFinite(value) ? '' : (min === undefined || value >= min) && (max === undefined || value <= max) ? 'yes' : '**no**';
      const label = ratio.runtime ? `${ratio.runtime}: ${ratio.label}` : ratio.label;
      lines.push(row([label, `**${format(value)}**`, ...ratio.perRound.map((one) => format(one ?? NaN)), target || '-', met]));
    }
  }
  const failures = runs.filter((run) => run.workload === workload.id && run.error);
  if (failures.length) {
    lines.push('', 'Failed runs:', '');
    for (const run of failures) lines.push(`- round ${run.round} \`${run.variant}\`: ${run.error}`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const selected = await select(options);
  if (!selected.length) throw new Error(`no benchmark matches ${options.filters.join(' ')}`);
  const jobs = selected.flatMap((entry) => entry.variants.map((variant) => ({ entry, variant })));
  const runs: Run[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    for (const [i, { entry, variant }] of shuffled(jobs).entries()) {
      await waitForQuiet(options.quietWait);
      const run = runOnce(round, entry.workload, variant);
      runs.push(run);
      const [headline] = entry.workload.metrics;
      const shown = run.result
        ? `${format(rate(run.result, headline!))} ${headline!.label}, other cores ${run.otherCores?.toFixed(2) ?? '-'}`
        : `FAILED ${run.error}`;
      console.error(`[round ${round}/${options.rounds} ${i + 1}/${jobs.length}] ${entry.workload.id} ${variant.id}: ${shown}`);
    }
  }
  if (options.json) {
    const summaries = selected.map((entry) => summarize(entry, runs, options.rounds));
    writeFileSync(options.json, JSON.stringify({ date: new Date().toISOString(), options, summaries, runs }, null, 2));
  }
  const sections = selected.map((entry) => report(entry, runs, options.rounds));
  console.log(`## Benchmarks (${new Date().toISOString().slice(0, 10)}, Node ${process.version})\n\n${sections.join('\n\n')}`);
  if (runs.some((run) => run.error)) process.exitCode = 1;
}

try {
  await main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 2;
}
