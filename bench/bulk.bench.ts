/**
 * Bulk receive over 127.0.0.1 (issue 3, "Speed"): 1 GiB sent client -> server by one sender
 * (`_servers/bulk_sender.py`: blocking `sendall()` of 1 MiB blocks, the same for every
 * receiver), read by each receiver in its own process, timed in-process from the first byte
 * to EOF. GB/s (10^9 bytes/s), receiver CPU seconds per GiB, per-round ratios to raw
 * `node:net` (the limit), and iperf3 on loopback (C on both ends) as the physical reference.
 *
 *   npx tsx bench/bulk.bench.ts                          7 rounds, every default receiver
 *   npx tsx bench/bulk.bench.ts --rounds 3 --receivers ours,net --gib 1
 *   npx tsx bench/bulk.bench.ts run ours                 one run, one `RESULT` line (for run.ts)
 *
 * `ours*` receivers run the library compiled by tsc into a temporary directory (what users
 * run; see `_servers/_library.ts`), `--source` runs the TypeScript sources through tsx instead.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { nodeVariant, type Benchmark, type Result } from './_benchmark.ts';
import { buildLibrary, type Build } from './_net-build.ts';
import {
  runToEnd,
  selfAndChildrenCpuSeconds,
  startProcess,
  stop,
  taggedJson,
  tsxCommand,
  waitForQuiet,
  waitOrKill,
  type Command,
} from './_net-process.ts';
import { DENO, RUNTIMES, THIS_NODE, type Runtime } from './_runtimes.ts';
import { finish, format, medianOf, met, perRoundRatios, range, roundOrder, row } from './_net-report.ts';

const GIB = 1024 ** 3;
const DIGEST = 'bulk-1MiB-blocks';

/** The runtimes besides this Node that the receivers run on. */
const OTHER_RUNTIMES = RUNTIMES.filter((runtime) => runtime.label !== THIS_NODE);

interface Receiver {
  id: string;
  label: string;
  standard: boolean;
  /** Node receivers: the variant of `_servers/bulk-node.ts`; iperf3: its `-l` write size. */
  node?: string;
  iperfLength?: string;
  /** Run by another runtime than this Node (with its receiver script): the README's column. */
  runtime?: { runtime: Runtime; script: string };
}

const RECEIVERS: Receiver[] = [
  { id: 'ours', label: 'ours: `startServer()`, loop `await reader.readexactly(65536)`', node: 'ours', standard: true },
  { id: 'ours-read', label: 'ours: `startServer()`, loop `await reader.read(65536)` until EOF', node: 'ours-read', standard: true },
  {
    id: 'ours-pull',
    label: "ours, pull mode: `StreamReader.from(new NodeSocket(socket).readable)` (the socket's byte stream, BYOB), same loop",
    node: 'ours-pull',
    standard: true,
  },
  {
    id: 'ours-readinto',
    label: 'ours: `startServer()`, loop `await reader.readinto(frame)` into one reused 64 KiB buffer until 0',
    node: 'ours-readinto',
    standard: true,
  },
  {
    id: 'ours-exactly-into',
    label: 'ours: `startServer()`, loop `await reader.readexactlyInto(frame)`, one reused 64 KiB buffer',
    node: 'ours-exactly-into',
    standard: true,
  },
  { id: 'net', label: "raw `node:net`, `socket.on('data')` counting bytes: the limit", node: 'net', standard: true },
  {
    id: 'net-into',
    label: '`node:net`, each chunk copied into one reused 64 KiB buffer, one `await` per 64 KiB: the floor of a `readinto()` loop',
    node: 'net-into',
    standard: true,
  },
  {
    id: 'net-frames',
    label: '`node:net`, the chunks copied into a fresh 64 KiB array per 64 KiB, one `await` each: the floor of a `readexactly(65536)` loop',
    node: 'net-frames',
    standard: true,
  },
  { id: 'toweb', label: '`Duplex.toWeb(socket).readable`, default reader `read()` loop (reference)', node: 'toweb', standard: true },
  {
    id: 'iperf3',
    label: 'iperf3 3.12 on loopback, `-l 64K` (its own sender and receiver, C on both ends; receiver figure)',
    iperfLength: '64K',
    standard: true,
  },
  { id: 'iperf3-1m', label: 'iperf3, `-l 1M`', iperfLength: '1M', standard: false },
  ...runtimeReceivers(),
];

/**
 * Ours, each runtime's own receiver and the floors on the other runtimes: Node 22/24/26 and Bun
 * run `bulk-node.ts` (Bun's anchor is its `node:net`), Deno runs `bulk-deno.ts`
 * (`conn.read(buffer)`; `raw-fresh`, a fresh array per read, is the floor of `read()` and
 * `readexactly()`, whose results are arrays of their own).
 */
function runtimeReceivers(): Receiver[] {
  const nodeLike = OTHER_RUNTIMES.filter((runtime) => runtime !== DENO).flatMap((runtime): Receiver[] =>
    (['ours', 'ours-read', 'ours-readinto', 'net', 'net-into', 'net-frames'] as const).map((node) => ({
      id: `${runtime.id}:${node === 'net' ? 'raw' : node}`,
      label: `${runtime.label}: as \`${node}\``,
      node,
      standard: false,
      runtime: { runtime, script: './_servers/bulk-node.ts' },
    })),
  );
  const denoLabels: Record<string, string> = {
    raw: 'Deno: `Deno.listen`, `await conn.read(buffer)` into one reused 64 KiB buffer',
    'raw-fresh': 'Deno: `Deno.listen`, `await conn.read(new Uint8Array(65536))`: the floor of `read(65536)` and `readexactly(65536)`',
  };
  const deno = (['ours', 'ours-read', 'ours-readinto', 'raw', 'raw-fresh'] as const).map(
    (node): Receiver => ({
      id: `deno:${node}`,
      label: denoLabels[node] ?? `Deno: as \`${node}\`, on the library's Deno entry`,
      node,
      standard: false,
      runtime: { runtime: DENO, script: './_servers/bulk-deno.ts' },
    }),
  );
  return [...nodeLike, ...deno];
}

interface BulkRun {
  receiver: string;
  bytes: number;
  seconds: number;
  /** Receiver CPU from first byte to EOF (null for iperf3). */
  cpuSeconds: number | null;
  reads: number | null;
  /** CPU of the receiver's and the sender's processes over their whole lives (what run.ts counts as ours). */
  processCpuSeconds: number | null;
  /** The receiver's peak RSS (null for iperf3). */
  maxRssMB: number | null;
}

function receiverById(id: string): Receiver {
  const receiver = RECEIVERS.find((candidate) => candidate.id === id);
  if (!receiver) throw new Error(`unknown receiver '${id}' (known: ${RECEIVERS.map((known) => known.id).join(', ')})`);
  return receiver;
}

const senderScript = 'bench/_servers/bulk_sender.py';

async function runNode(receiver: Receiver, total: number, build: Build | null): Promise<BulkRun> {
  const args = [receiver.node!, String(total)];
  const command: Command = receiver.runtime
    ? { argv: [...receiver.runtime.runtime.command({}), fileURLToPath(new URL(receiver.runtime.script, import.meta.url)), ...args] }
    : tsxCommand('./_servers/bulk-node.ts', args);
  if (build) command.env = { ASYNCIO_STREAMS_BUILD: build.dir };
  const server = await startProcess(command);
  try {
    const sender = await runToEnd({ argv: ['/usr/bin/python3', senderScript, String(server.port), String(total)] }, 120_000);
    const code = await waitOrKill(server, 30_000);
    if (code !== 0) throw new Error(`receiver exited with ${code}: ${server.stderr().trim().slice(-2000)}`);
    const { totalCpuSeconds, ...result } = taggedJson<{
      bytes: number;
      seconds: number;
      cpuSeconds: number;
      reads: number;
      totalCpuSeconds: number;
      maxRssMB: number;
    }>(server.lines.join('\n'), 'BULK');
    const senderCpu = taggedJson<{ cpuSeconds: number }>(sender.stdout, 'SENDER').cpuSeconds;
    return { receiver: receiver.id, ...result, processCpuSeconds: totalCpuSeconds + senderCpu };
  } finally {
    await stop(server);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

interface IperfReport {
  end?: { sum_received?: { bytes: number; seconds: number } };
  error?: string;
}

async function runIperf(receiver: Receiver, total: number): Promise<BulkRun> {
  const port = await freePort();
  const server = spawn('iperf3', ['-s', '-1', '-B', '127.0.0.1', '-p', String(port), '--forceflush'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => server.on('exit', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('iperf3 -s did not start within 10 s')), 10_000);
      server.on('error', reject);
      server.stdout.setEncoding('utf8').on('data', (text: string) => {
        if (text.includes('listening')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const args = ['-c', '127.0.0.1', '-p', String(port), '-n', String(total), '-l', receiver.iperfLength!, '-J'];
    const { stdout } = await runToEnd({ argv: ['iperf3', ...args] }, 120_000);
    const report = JSON.parse(stdout) as IperfReport;
    const received = report.end?.sum_received;
    if (!received) throw new Error(`iperf3: ${report.error ?? 'no sum_received in its report'}`);
    return { receiver: receiver.id, bytes: received.bytes, seconds: received.seconds, cpuSeconds: null, reads: null, processCpuSeconds: null, maxRssMB: null };
  } finally {
    if (server.exitCode === null) server.kill('SIGTERM');
    await exited;
  }
}

function runBulk(id: string, total: number, build: Build | null): Promise<BulkRun> {
  const receiver = receiverById(id);
  return receiver.node ? runNode(receiver, total, build) : runIperf(receiver, total);
}

// ---- run.ts integration: one variant = one receiver run printing a RESULT line ----

export const benchmark: Benchmark = {
  name: 'bulk',
  workloads: [
    {
      id: 'bulk',
      name: 'bulk receive 1 GiB',
      description:
        '1 GiB over 127.0.0.1 from one Python sender (blocking sendall of 1 MiB blocks) to each receiver; ' +
        'timed in the receiver from the first byte to EOF; ours run the tsc build. GB = 10^9 bytes.',
      metrics: [{ label: 'GB/s', per: 'bytes', scale: 1e9 }],
      variants: RECEIVERS.filter((receiver) => receiver.standard || receiver.runtime).map((receiver) =>
        nodeVariant(receiver.id, receiver.label, import.meta.url, ['run', receiver.id]),
      ),
      ratios: [
        { label: 'ours / raw net', numerator: 'ours', denominator: 'net', target: { min: 0.8 } },
        { label: 'ours-read / raw net', numerator: 'ours-read', denominator: 'net', target: { min: 0.8 } },
        { label: 'ours-pull / raw net', numerator: 'ours-pull', denominator: 'net', target: { min: 0.8 } },
        { label: 'ours-readinto / raw net', numerator: 'ours-readinto', denominator: 'net', target: { min: 0.85 } },
        { label: 'ours-exactly-into / raw net', numerator: 'ours-exactly-into', denominator: 'net', target: { min: 0.85 } },
        { label: 'toweb / raw net', numerator: 'toweb', denominator: 'net' },
        { label: 'ours / iperf3', numerator: 'ours', denominator: 'iperf3' },
        ...[
          { runtime: THIS_NODE, prefix: '', raw: 'net', into: 'net-into', frames: 'net-frames' },
          ...OTHER_RUNTIMES.map((runtime) => {
            const prefix = `${runtime.id}:`;
            const raw = `${prefix}raw`;
            return runtime === DENO
              ? { runtime: runtime.label, prefix, raw, into: raw, frames: `${prefix}raw-fresh` }
              : { runtime: runtime.label, prefix, raw, into: `${prefix}net-into`, frames: `${prefix}net-frames` };
          }),
        ].flatMap(({ runtime, prefix, raw, into, frames }) => [
          { label: "ours / the runtime's sockets", runtime, numerator: `${prefix}ours`, denominator: raw, target: { min: 0.8 } },
          { label: "ours-read / the runtime's sockets", runtime, numerator: `${prefix}ours-read`, denominator: raw, target: { min: 0.8 } },
          { label: "ours-readinto / the runtime's sockets", runtime, numerator: `${prefix}ours-readinto`, denominator: raw, target: { min: 0.85 } },
          { label: 'ours / its floor', runtime, numerator: `${prefix}ours`, denominator: frames },
          { label: 'ours-read / its floor', runtime, numerator: `${prefix}ours-read`, denominator: frames },
          { label: 'ours-readinto / its floor', runtime, numerator: `${prefix}ours-readinto`, denominator: into },
        ]),
      ],
    },
  ],
};

async function runForDriver(id: string, total: number): Promise<void> {
  const receiver = receiverById(id);
  // Deno runs the library's TypeScript itself (bulk-deno.ts).
  const build = receiver.node?.startsWith('ours') && receiver.runtime?.runtime !== DENO ? buildLibrary() : null;
  try {
    const run = await runBulk(id, total, build);
    const own = process.resourceUsage();
    const result: Result = {
      seconds: run.seconds,
      passes: [run.seconds],
      bytes: run.bytes,
      items: run.reads ?? 0,
      digest: DIGEST,
      // This process and every process it ran and reaped: the build, the receiver and the sender (or iperf3).
      cpuSeconds: selfAndChildrenCpuSeconds() ?? (own.userCPUTime + own.systemCPUTime) / 1e6 + (run.processCpuSeconds ?? 0),
      // iperf3 reports no peak RSS: NaN reaches run.ts as null, shown as "-".
      maxRssMB: run.maxRssMB ?? NaN,
      runtime: `Node ${process.version}`,
    };
    console.log(`RESULT ${JSON.stringify(result)}`);
  } finally {
    build?.remove();
  }
}

// ---- standalone: rounds, table, targets ----

interface Options {
  rounds: number;
  gib: number;
  receivers: string[];
  source: boolean;
  json: string | null;
  /** Seconds to wait at most, before each run, for the machine to be quiet. */
  quietWait: number;
}

function parseOptions(args: string[]): Options {
  const options: Options = {
    rounds: 7,
    gib: 1,
    receivers: RECEIVERS.filter((receiver) => receiver.standard).map((receiver) => receiver.id),
    source: false,
    json: null,
    quietWait: 10,
  };
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i]!.split('=', 2);
    const value = (): string => inline ?? args[++i] ?? '';
    if (flag === '--rounds') options.rounds = Number(value());
    else if (flag === '--gib') options.gib = Number(value());
    else if (flag === '--receivers') options.receivers = value().split(',').filter(Boolean);
    else if (flag === '--source') options.source = true;
    else if (flag === '--json') options.json = value();
    else if (flag === '--quiet-wait') options.quietWait = Number(value());
    else throw new Error(`unknown option '${args[i]}'`);
  }
  for (const id of options.receivers) receiverById(id);
  if (!Number.isInteger(options.rounds) || options.rounds < 1 || options.rounds > 50) throw new Error('--rounds wants 1..50');
  if (!Number.isInteger(options.gib) || options.gib < 1 || options.gib > 16) throw new Error('--gib wants 1..16');
  return options;
}

function report(options: Options, runs: (BulkRun & { round: number })[]): string {
  const rate = (round: number, id: string) => {
    const run = runs.find((candidate) => candidate.round === round && candidate.receiver === id);
    return run ? run.bytes / run.seconds / 1e9 : null;
  };
  const of = (id: string) => runs.filter((run) => run.receiver === id);
  const hasNet = options.receivers.includes('net');
  const lines: string[] = [
    `### Bulk receive, ${options.gib} GiB over 127.0.0.1 (Node ${process.version}, ${new Date().toISOString().slice(0, 10)})`,
    '',
    `${options.rounds} rounds (order rotated and reversed every round), a fresh receiver process per run, one sender ` +
      '(bench/_servers/bulk_sender.py: blocking `sendall()` of 1 MiB blocks). Timed in the receiver from the first byte ' +
      `to EOF; GB = 10^9 bytes. \`x net\` = median of per-round ratios to raw \`node:net\`; \`CPU s/GiB\` = receiver CPU ` +
      `(all threads) over the same span. Ours: ${options.source ? 'the TypeScript sources through tsx' : 'the tsc build'}.`,
    '',
    row(['receiver', 'median GB/s', 'min..max', ...(hasNet ? ['x net'] : []), 'CPU s/GiB', 'avg read KiB', 'n']),
    row(['---', '---:', '---:', ...(hasNet ? ['---:'] : []), '---:', '---:', '---:']),
  ];
  const ordered = [...options.receivers].sort(
    (a, b) => (medianOf(of(b).map((run) => run.bytes / run.seconds)) ?? 0) - (medianOf(of(a).map((run) => run.bytes / run.seconds)) ?? 0),
  );
  for (const id of ordered) {
    const mine = of(id);
    const rates = mine.map((run) => run.bytes / run.seconds / 1e9);
    const cpu = medianOf(mine.map((run) => (run.cpuSeconds === null ? null : (run.cpuSeconds / run.bytes) * GIB)));
    const readKiB = medianOf(mine.map((run) => (run.reads ? run.bytes / run.reads / 1024 : null)));
    lines.push(
      row([
        `\`${id}\``,
        format(medianOf(rates)),
        range(rates),
        ...(hasNet ? [format(perRoundRatios(options.rounds, rate, id, 'net').median)] : []),
        format(cpu),
        format(readKiB),
        mine.length,
      ]),
    );
  }
  lines.push('');
  for (const id of options.receivers) lines.push(`- \`${id}\`: ${receiverById(id).label}`);
  const roundCells = Array.from({ length: options.rounds }, (_, round) => `r${round + 1}`);
  lines.push(
    '',
    'Targets (issue 3): per-round ratios of GB/s and their median.',
    '',
    row(['ratio', 'median', ...roundCells, 'target', 'met']),
    row(['---', '---:', ...roundCells.map(() => '---:'), '---:', ':---:']),
  );
  const ratios: [string, string, string, number | null][] = [
    ['ours / raw net', 'ours', 'net', 0.8],
    ['ours-read / raw net', 'ours-read', 'net', 0.8],
    ['ours-pull / raw net', 'ours-pull', 'net', 0.8],
    ['ours-readinto / raw net', 'ours-readinto', 'net', 0.85],
    ['ours-exactly-into / raw net', 'ours-exactly-into', 'net', 0.85],
    ['ours / its floor', 'ours', 'net-frames', null],
    ['ours-readinto / its floor', 'ours-readinto', 'net-into', null],
    ['toweb / raw net', 'toweb', 'net', null],
    ['ours / iperf3', 'ours', 'iperf3', null],
    ['raw net / iperf3', 'net', 'iperf3', null],
  ];
  for (const [label, top, bottom, min] of ratios) {
    if (!options.receivers.includes(top) || !options.receivers.includes(bottom)) continue;
    const { perRound, median } = perRoundRatios(options.rounds, rate, top, bottom);
    const value = min === null ? format(median) : `**${format(median)}**`;
    lines.push(row([label, value, ...perRound.map(format), min === null ? '-' : `>= ${min}`, min === null ? '' : met(median, min)]));
  }
  return lines.join('\n');
}

async function main(args: string[]): Promise<void> {
  if (args[0] === 'run') {
    const [, id = '', gib = '1'] = args;
    receiverById(id);
    await runForDriver(id, Number(gib) * GIB);
    return;
  }
  const options = parseOptions(args);
  const total = options.gib * GIB;
  const build = options.source ? null : buildLibrary();
  const runs: (BulkRun & { round: number })[] = [];
  const failures: string[] = [];
  try {
    for (let round = 0; round < options.rounds; round++) {
      for (const [i, id] of roundOrder(options.receivers, round).entries()) {
        const tag = `[round ${round + 1}/${options.rounds} ${i + 1}/${options.receivers.length}] ${id}`;
        const busy = await waitForQuiet(options.quietWait);
        if (busy !== null && busy >= 0.3) console.error(`${tag}: machine still busy (${format(busy)} cores), running anyway`);
        try {
          const run = await runBulk(id, total, build);
          runs.push({ ...run, round });
          const cpu = run.cpuSeconds === null ? '' : `, CPU ${format(run.cpuSeconds)} s`;
          console.error(`${tag}: ${format(run.bytes / run.seconds / 1e9)} GB/s${cpu}`);
        } catch (error) {
          failures.push(`round ${round + 1} ${id}: ${(error as Error).message}`);
          console.error(`${tag}: FAILED ${(error as Error).message}`);
        }
      }
    }
  } finally {
    build?.remove();
  }
  finish(options.json, { options, runs, failures }, report(options, runs));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2));
}
