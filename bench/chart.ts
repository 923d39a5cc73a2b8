/**
 * Turns the JSON that `npm run bench -- ... --json FILE` writes into what the README shows: a
 * Markdown table per workload (a row per comparison, a column per runtime, each cell the
 * median of the per-round ratios) on stdout, and an SVG of the same ratios as bars.
 *
 *   npx tsx bench/chart.ts --svg bench/results/ratios.svg bench/results/connections.json bench/results/idle-memory.json
 *
 * A later run of a workload (by its date) replaces the cells of the runtimes it measured: a
 * runtime rerun alone (`bench/results/connections-bun.json`) updates its column.
 *
 * Only ratios that name their runtime (`Ratio.runtime`) are drawn. No dependency: the SVG is
 * written by hand.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Ratio } from './_benchmark.ts';
import { median } from './_measure.ts';

/** What `run.ts` writes with `--json` (the parts used here). */
interface BenchJson {
  date: string;
  options: { rounds: number };
  summaries: Array<{
    workload: string;
    name: string;
    headline: string;
    lowerIsBetter: boolean;
    ratios: Array<{ label: string; runtime: string | null; median: number | null; target: Ratio['target'] | null }>;
  }>;
  runs: Array<{ workload: string; otherCores: number | null }>;
}

interface Panel {
  title: string;
  note: string;
  /** Comparison label, then its median per runtime. */
  rows: Array<{ label: string; target: Ratio['target'] | null; values: Map<string, number> }>;
}

const RUNTIME_ORDER = ['Node 20', 'Node 22', 'Node 24', 'Node 26', 'Deno', 'Bun'];
const COLORS: Record<string, string> = {
  'Node 20': '#9ccc65',
  'Node 22': '#66bb6a',
  'Node 24': '#43a047',
  'Node 26': '#1b5e20',
  Deno: '#455a64',
  Bun: '#f9a825',
};

/**
 * One panel per workload. A later run (by its date) of the same workload replaces the cells of
 * the runtimes it measured and adds its rows (a runtime rerun on its own, the rest kept), and
 * the panel's note says which runtimes came from which run.
 */
function panels(files: string[]): Panel[] {
  const byWorkload = new Map<string, Panel>();
  const runs = files.map((file) => JSON.parse(readFileSync(file, 'utf8')) as BenchJson).sort((a, b) => a.date.localeCompare(b.date));
  for (const json of runs) {
    for (const summary of json.summaries) {
      const ratios = summary.ratios.filter((ratio): ratio is typeof ratio & { runtime: string; median: number } => Boolean(ratio.runtime) && ratio.median !== null);
      if (!ratios.length) continue;
      const others = json.runs.filter((run) => run.workload === summary.workload).map((run) => run.otherCores).filter((cores): cores is number => cores !== null);
      const noise = others.length ? `other cores: median ${median(others).toFixed(2)}, max ${Math.max(...others).toFixed(2)}` : '';
      const run = `${json.options.rounds} rounds, ${json.date.slice(0, 10)}; ${noise}`;
      let panel = byWorkload.get(summary.workload);
      if (panel === undefined) {
        panel = { title: `${summary.workload}: ${summary.name}`, note: `${summary.headline}, ${summary.lowerIsBetter ? 'lower' : 'higher'} is better; ${run}`, rows: [] };
        byWorkload.set(summary.workload, panel);
      } else {
        const runtimes = RUNTIME_ORDER.filter((runtime) => ratios.some((ratio) => ratio.runtime === runtime));
        panel.note += `; ${runtimes.join(', ')} from a later run: ${run}`;
      }
      for (const ratio of ratios) {
        let row = panel.rows.find((candidate) => candidate.label === ratio.label);
        if (!row) panel.rows.push((row = { label: ratio.label, target: ratio.target, values: new Map() }));
        row.values.set(ratio.runtime, ratio.median);
      }
    }
  }
  return [...byWorkload.values()];
}

function targetText(target: Ratio['target'] | null): string {
  if (!target) return '';
  return [target.min !== undefined ? `≥ ${target.min}` : '', target.max !== undefined ? `≤ ${target.max}` : ''].filter(Boolean).join(', ');
}

function met(value: number, target: Ratio['target'] | null): boolean | null {
  if (!target) return null;
  return (target.min === undefined || value >= target.min) && (target.max === undefined || value <= target.max);
}

function markdown(all: Panel[]): string {
  const out: string[] = [];
  for (const panel of all) {
    const runtimes = RUNTIME_ORDER.filter((runtime) => panel.rows.some((row) => row.values.has(runtime)));
    out.push(`**${panel.title}** (${panel.note})`, '', `| ratio | ${runtimes.join(' | ')} | target |`, `| --- | ${runtimes.map(() => '---:').join(' | ')} | :---: |`);
    for (const row of panel.rows) {
      const cells = runtimes.map((runtime) => {
        const value = row.values.get(runtime);
        if (value === undefined) return '-';
        const text = value.toFixed(2);
        return met(value, row.target) === true ? `**${text}**` : text;
      });
      out.push(`| ${row.label} | ${cells.join(' | ')} | ${targetText(row.target) || '-'} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/`/g, '');
}

/** Horizontal bars: a group per comparison, a bar per runtime, a line at 1 and one at the target. */
function svg(all: Panel[]): string {
  const width = 900;
  const labelWidth = 330;
  const plotWidth = width - labelWidth - 60;
  const bar = 9;
  const scaleMax = Math.min(4, Math.max(1.6, ...all.flatMap((panel) => panel.rows.flatMap((row) => [...row.values.values()]))));
  const x = (value: number) => labelWidth + (Math.min(value, scaleMax) / scaleMax) * plotWidth;
  const parts: string[] = [];
  let y = 20;
  parts.push(`<text x="10" y="${y}" font-size="15" font-weight="bold">ours / anchor, per runtime (median of per-round ratios; the grey line is 1, the red one the target)</text>`);
  y += 20;
  let legendX = 10;
  for (const runtime of RUNTIME_ORDER) {
    parts.push(`<rect x="${legendX}" y="${y - 9}" width="12" height="10" fill="${COLORS[runtime]}"/><text x="${legendX + 16}" y="${y}" font-size="12">${runtime}</text>`);
    legendX += 80;
  }
  y += 16;
  for (const panel of all) {
    y += 14;
    parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${escape(panel.title)}</text>`);
    y += 14;
    parts.push(`<text x="10" y="${y}" font-size="11" fill="#555">${escape(panel.note)}</text>`);
    y += 8;
    for (const row of panel.rows) {
      const runtimes = RUNTIME_ORDER.filter((runtime) => row.values.has(runtime));
      const height = runtimes.length * (bar + 2) + 6;
      parts.push(`<text x="10" y="${y + height / 2 + 4}" font-size="11">${escape(row.label)}${row.target ? ` (${targetText(row.target)})` : ''}</text>`);
      parts.push(`<line x1="${x(1)}" y1="${y}" x2="${x(1)}" y2="${y + height - 4}" stroke="#999"/>`);
      const limit = row.target?.max ?? row.target?.min;
      if (limit !== undefined) parts.push(`<line x1="${x(limit)}" y1="${y}" x2="${x(limit)}" y2="${y + height - 4}" stroke="#d32f2f" stroke-dasharray="3,2"/>`);
      runtimes.forEach((runtime, i) => {
        const value = row.values.get(runtime)!;
        const top = y + i * (bar + 2);
        parts.push(`<rect x="${labelWidth}" y="${top}" width="${x(value) - labelWidth}" height="${bar}" fill="${COLORS[runtime]}"><title>${runtime}: ${value.toFixed(2)}</title></rect>`);
        parts.push(`<text x="${x(value) + 3}" y="${top + bar - 1}" font-size="9">${value.toFixed(2)}${value > scaleMax ? ' →' : ''}</text>`);
      });
      y += height;
    }
  }
  y += 10;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}

function main(args: string[]): void {
  let out: string | null = null;
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--svg') out = args[++i] ?? null;
    else files.push(args[i]!);
  }
  if (!files.length) throw new Error('usage: chart.ts [--svg OUT.svg] RESULTS.json...');
  const all = panels(files);
  console.log(markdown(all));
  if (out) writeFileSync(out, svg(all));
}

main(process.argv.slice(2));
