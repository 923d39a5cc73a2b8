/**
 * TCP echo over 127.0.0.1, vmbench style (issue 3, "Speed"): 1 KiB messages, 1 and 50
 * concurrent connections, every server in its own process and all of them driven by the same
 * client (`_echo-client.ts`: raw `node:net`, one request/response loop per connection, 1 s
 * warm-up, then a fixed window). Requests per second, the server's CPU per request over the
 * same window, and per-round ratios to raw `node:net` (the limit) and uvloop.
 *
 *   npx tsx bench/echo.bench.ts                        5 rounds, every default server, N=1 and N=50
 *   npx tsx bench/echo.bench.ts --rounds 3 --seconds 3 --servers ours,net,uvloop --connections 50
 *   npx tsx bench/echo.bench.ts --pin off              N=1 unpinned (see below)
 *   npx tsx bench/echo.bench.ts --source               ours from the TypeScript sources (tsx), not the tsc build
 *   npx tsx bench/echo.bench.ts run ours 50            one run, one `RESULT` line (for run.ts)
 *
 * Also `--warmup S`, `--quiet-wait S` (default 10: before each run, wait at most that long for
 * other processes to stop using the CPU) and `--json FILE` (every run). Servers not run by
 * default: net-pipe, py313-exact, uvloop-exact, py311, and ours-base (the build that
 * `BENCH_BASE_LIBRARY` names, to measure a change against its base in the same rounds).
 *
 * `ours` runs the library compiled by tsc into a temporary directory (what users run; see
 * `_servers/_library.ts` for why tsx would understate it).
 * N=1 runs pin the server and the client to the last CPU (`taskset`): on this VM an idle vCPU
 * halts and every ping-pong between two vCPUs waits for a wake-up, so unpinned N=1 measures
 * that wake-up (13–17 k req/s for every server, perf-baselines.md W3), not the server.
 * At N=50 the Node client saturates its core (100–140 k req/s on this VM, depending on the
 * load): a server faster than that reads as fast as the client allows, so compare `µs/req`
 * (server CPU per round trip) there too.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { nodeVariant, type Benchmark, type Ratio, type Workload } from './_benchmark.ts';
import { baseLibrary, type Build } from './_net-build.ts';
import type { EchoClientResult } from './_echo-client.ts';
import {
  pinned,
  processCpuSeconds,
  processPeakRssMB,
  pythonPath,
  runToEnd,
  startProcess,
  stop,
  taggedJson,
  tsxCommand,
  type Command,
} from './_net-process.ts';
import { BUN, DENO, NODE_RUNTIMES, THIS_NODE, type Runtime } from './_runtimes.ts';
import { finish, format, met, perRoundRatios, row, serverRuns, serverTable } from './_net-report.ts';
import { runtimeRatios } from './_runtime-ratios.ts';
import { defaultPinCpu, parseRoundsOptions, runRounds, runWithBuild, serverRunResult, type RoundsOptions } from './_net-rounds.ts';

const MESSAGE_SIZE = 1024;
const DIGEST = `echo-${MESSAGE_SIZE}`;

interface EchoServer {
  id: string;
  label: string;
  command: () => Command;
  /** Run by default (the others only when `--servers` names them). */
  standard: boolean;
  /** Loads the library (and so runs the tsc build when there is one). */
  ours?: boolean;
  /** Set on the servers run by another runtime than this Node: that runtime's label. */
  runtime?: string;
}

const streamsScript = 'bench/_servers/echo_streams.py';

function nodeServer(variant: string): () => Command {
  return () => tsxCommand('./_servers/echo-node.ts', [variant, String(MESSAGE_SIZE)]);
}

function pythonServer(python: () => string, loop: string, mode: string): () => Command {
  return () => ({ argv: [python(), streamsScript, loop, mode, String(MESSAGE_SIZE)] });
}

const cpython313 = () => pythonPath('3.13.0');
/** Debian's interpreter: the one python3-uvloop is built for. */
const debianPython = () => '/usr/bin/python3';

function onRuntime(runtime: Runtime, file: string, args: string[]): () => Command {
  return () => ({ argv: [...runtime.command({}), fileURLToPath(new URL(file, import.meta.url)), ...args] });
}

/**
 * Ours and each runtime's own server on the other runtimes, for the table with a column per
 * runtime: Node 22/24/26 and Bun run `echo-node.ts` (Bun's anchor is its `node:net`), Deno runs
 * `echo-deno.ts` (its anchor is `Deno.listen`). The client stays this Node's.
 */
const RUNTIME_SERVERS: EchoServer[] = [
  ...[...NODE_RUNTIMES.filter((runtime) => runtime.label !== THIS_NODE), BUN].flatMap((runtime): EchoServer[] => [
    {
      id: `${runtime.id}:ours`,
      label: `${runtime.label}: as \`ours\``,
      command: onRuntime(runtime, './_servers/echo-node.ts', ['ours', String(MESSAGE_SIZE)]),
      standard: false,
      ours: true,
      runtime: runtime.label,
    },
    {
      id: `${runtime.id}:raw`,
      label: `${runtime.label}: as \`net\``,
      command: onRuntime(runtime, './_servers/echo-node.ts', ['net', String(MESSAGE_SIZE)]),
      standard: false,
      runtime: runtime.label,
    },
    {
      id: `${runtime.id}:await`,
      label: `${runtime.label}: as \`net-await\``,
      command: onRuntime(runtime, './_servers/echo-node.ts', ['net-await', String(MESSAGE_SIZE)]),
      standard: false,
      runtime: runtime.label,
    },
  ]),
  {
    id: 'deno:ours',
    label: "Deno: as `ours`, on the library's Deno entry",
    command: onRuntime(DENO, './_servers/echo-deno.ts', ['ours']),
    standard: false,
    runtime: DENO.label,
  },
  {
    id: 'deno:raw',
    label: 'Deno: `Deno.listen`, loop `await conn.read(buffer)`, `await conn.write()`',
    command: onRuntime(DENO, './_servers/echo-deno.ts', ['raw']),
    standard: false,
    runtime: DENO.label,
  },
];

const SERVERS: EchoServer[] = [
  ...RUNTIME_SERVERS,
  {
    id: 'ours',
    label: 'ours: `startServer()`, loop `data = await reader.read(65536)`, `writer.write(data)`, `await writer.drain()`',
    command: nodeServer('ours'),
    standard: true,
    ours: true,
  },
  {
    id: 'ours-base',
    label: 'ours, as the build `BENCH_BASE_LIBRARY` names (the version a change is measured against)',
    command: () => ({ ...nodeServer('ours')(), env: { ASYNCIO_STREAMS_BUILD: baseLibrary() } }),
    standard: false,
  },
  {
    id: 'ours-exact',
    label: `ours, with \`await reader.readexactly(${MESSAGE_SIZE})\``,
    command: nodeServer('ours-exact'),
    standard: true,
    ours: true,
  },
  {
    id: 'net',
    label: "raw `node:net`, `socket.on('data', (d) => socket.write(d))`: the limit",
    command: nodeServer('net'),
    standard: true,
  },
  { id: 'net-pipe', label: 'raw `node:net`, `socket.pipe(socket)`', command: nodeServer('net-pipe'), standard: false },
  {
    id: 'net-await',
    label:
      'raw `node:net` behind the smallest asyncio-shaped loop (`await` per chunk received, `socket.write`, `await` of a ' +
      'resolved promise): the ceiling of any `await read()` / `await drain()` API on this runtime',
    command: nodeServer('net-await'),
    standard: true,
  },
  {
    id: 'toweb',
    label: '`Duplex.toWeb(socket)`, loop `await reader.read()`, `await writer.write(value)` (reference)',
    command: nodeServer('toweb'),
    standard: true,
  },
  {
    id: 'py313',
    label: 'CPython 3.13.0 (pyenv) asyncio streams, `read(65536)` / `write` / `drain` loop',
    command: pythonServer(cpython313, 'asyncio', 'read'),
    standard: true,
  },
  {
    id: 'py313-exact',
    label: `CPython 3.13.0 asyncio streams, \`readexactly(${MESSAGE_SIZE})\``,
    command: pythonServer(cpython313, 'asyncio', 'exact'),
    standard: false,
  },
  {
    id: 'uvloop',
    label: "uvloop 0.17 streams (Debian's python3-uvloop on CPython 3.11.2), `read(65536)` loop",
    command: pythonServer(debianPython, 'uvloop', 'read'),
    standard: true,
  },
  {
    id: 'uvloop-exact',
    label: `uvloop streams, \`readexactly(${MESSAGE_SIZE})\``,
    command: pythonServer(debianPython, 'uvloop', 'exact'),
    standard: false,
  },
  {
    id: 'py311',
    label: 'CPython 3.11.2 (Debian) asyncio streams, `read(65536)` loop',
    command: pythonServer(debianPython, 'asyncio', 'read'),
    standard: false,
  },
];

interface RunOptions {
  seconds: number;
  warmupSeconds: number;
  /** CPU to pin N=1 runs to, or null. */
  pinCpu: number | null;
  /** The tsc build the `ours` servers run; null: the sources through tsx. */
  build: Build | null;
}

interface EchoRun {
  server: string;
  connections: number;
  requestsPerSecond: number;
  /** Server CPU per round trip over the window, µs. */
  serverUsPerRequest: number | null;
  serverCpuPercent: number | null;
  clientCpuPercent: number;
  otherCores: number | null;
  serverPeakRssMB: number | null;
  client: EchoClientResult;
  /** Server CPU over its whole life, plus the client's: what `run.ts` subtracts as ours. */
  totalCpuSeconds: number;
}

function serverById(id: string): EchoServer {
  const server = SERVERS.find((candidate) => candidate.id === id);
  if (!server) throw new Error(`unknown server '${id}' (known: ${SERVERS.map((known) => known.id).join(', ')})`);
  return server;
}

/** One server process, one client process, one window. */
async function runEcho(serverId: string, connections: number, options: RunOptions): Promise<EchoRun> {
  const cpu = connections === 1 ? options.pinCpu : null;
  const spec = serverById(serverId);
  const command = spec.command();
  if (spec.ours && options.build) command.env = { ...command.env, ASYNCIO_STREAMS_BUILD: options.build.dir };
  const server = await startProcess(pinned(command, cpu));
  try {
    const clientOptions = {
      port: server.port,
      connections,
      messageSize: MESSAGE_SIZE,
      warmupSeconds: options.warmupSeconds,
      seconds: options.seconds,
      serverPid: server.pid,
    };
    const limitMs = (options.warmupSeconds + options.seconds) * 1000 + 30_000;
    const { stdout } = await runToEnd(pinned(tsxCommand('./_echo-client.ts', [JSON.stringify(clientOptions)]), cpu), limitMs);
    const client = taggedJson<EchoClientResult>(stdout, 'ECHO');
    const serverCpu = client.serverCpuSeconds;
    return {
      server: serverId,
      connections,
      requestsPerSecond: client.requests / client.seconds,
      serverUsPerRequest: serverCpu === null || client.requests === 0 ? null : (serverCpu / client.requests) * 1e6,
      serverCpuPercent: serverCpu === null ? null : (serverCpu / client.seconds) * 100,
      clientCpuPercent: (client.clientCpuSeconds / client.seconds) * 100,
      otherCores: client.otherCores,
      serverPeakRssMB: processPeakRssMB(server.pid),
      client,
      totalCpuSeconds: (processCpuSeconds(server.pid) ?? 0) + client.clientTotalCpuSeconds,
    };
  } finally {
    await stop(server);
  }
}

// ---- run.ts integration: one variant = one (server, N) run printing a RESULT line ----

function workload(connections: number): Workload {
  const ids = SERVERS.filter((server) => server.standard || server.runtime).map((server) => server.id);
  const targets: Ratio[] = [
    { label: 'ours / raw net', numerator: 'ours', denominator: 'net', target: { min: 0.9 } },
    { label: 'ours-exact / raw net', numerator: 'ours-exact', denominator: 'net', target: { min: 0.9 } },
    { label: 'ours / uvloop streams', numerator: 'ours', denominator: 'uvloop', target: { min: 1 } },
    { label: 'ours / CPython 3.13 streams', numerator: 'ours', denominator: 'py313' },
    { label: 'toweb / raw net', numerator: 'toweb', denominator: 'net' },
    ...runtimeRatios(RUNTIME_SERVERS, 0.95),
  ];
  const pinning = connections === 1 ? ' Server and client pinned to the last CPU (taskset).' : '';
  return {
    id: `echo${connections}`,
    name: `echo 1 KiB, N=${connections}`,
    description:
      `TCP echo over 127.0.0.1 of ${MESSAGE_SIZE}-byte messages, ${connections} connection(s), one request/response ` +
      `loop per connection; the same raw node:net client (bench/_echo-client.ts) for every server; 1 s warm-up, ` +
      `5 s window.${pinning} Rates are round trips per second.`,
    metrics: [
      { label: 'req/s', per: 'items', scale: 1 },
      { label: 'MB/s echoed', per: 'bytes', scale: 1e6 },
    ],
    variants: ids.map((id) => nodeVariant(id, serverById(id).label, import.meta.url, ['run', id, String(connections)])),
    ratios: targets,
  };
}

export const benchmark: Benchmark = { name: 'echo', workloads: [workload(1), workload(50)] };

async function runForDriver(serverId: string, connections: number, seconds: number): Promise<void> {
  const run = await runWithBuild(serverById(serverId).ours === true, (build) =>
    runEcho(serverId, connections, { seconds, warmupSeconds: 1, pinCpu: defaultPinCpu(), build }),
  );
  const result = serverRunResult({ ...run, seconds: run.client.seconds, requests: run.client.requests, requestBytes: MESSAGE_SIZE }, DIGEST);
  console.log(`RESULT ${JSON.stringify(result)}`);
}

// ---- standalone: rounds, table, targets ----

function report(options: RoundsOptions, runs: (EchoRun & { round: number })[]): string {
  const lines: string[] = [];
  const { rate, cpuRate } = serverRuns(runs);
  const pin = options.pinCpu === null ? 'unpinned' : `server and client pinned to CPU ${options.pinCpu}`;

  lines.push(
    `### Echo, ${MESSAGE_SIZE}-byte messages over 127.0.0.1 (Node ${process.version}, ${new Date().toISOString().slice(0, 10)})`,
    '',
    `${options.rounds} rounds (order rotated and reversed every round), each run a fresh server process and a fresh ` +
      `client process (bench/_echo-client.ts, the same for every server): ${options.warmupSeconds} s warm-up, then a ` +
      `${options.seconds} s window. N=1: ${pin}. Ours: ${options.source ? 'the TypeScript sources through tsx' : 'the tsc build'}. Medians over rounds; \`x net\` = median of per-round ratios to raw \`node:net\`; ` +
      '`µs/req` = server CPU per round trip over the window; `other` = cores used by processes not ours during the window.',
    '',
  );
  lines.push(...serverTable(options, runs));
  lines.push('');
  for (const id of options.servers) lines.push(`- \`${id}\`: ${serverById(id).label}`);

  const targets: [string, string, string, number][] = [
    ['ours / raw net, req/s', 'ours', 'net', 0.9],
    ['ours-exact / raw net, req/s', 'ours-exact', 'net', 0.9],
    ['ours / uvloop streams, req/s', 'ours', 'uvloop', 1],
    ['ours-exact / uvloop streams, req/s', 'ours-exact', 'uvloop', 1],
  ];
  const roundCells = Array.from({ length: options.rounds }, (_, round) => `r${round + 1}`);
  lines.push(
    '',
    'Targets (issue 3): per-round ratios and their median.',
    '',
    row(['ratio', 'N', 'median', ...roundCells, 'target', 'met']),
    row(['---', '---:', '---:', ...roundCells.map(() => '---:'), '---:', ':---:']),
  );
  for (const n of options.connections) {
    for (const [label, top, bottom, min] of targets) {
      if (!options.servers.includes(top) || !options.servers.includes(bottom)) continue;
      const { perRound, median: value } = perRoundRatios(options.rounds, rate(n), top, bottom);
      lines.push(row([label, n, `**${format(value)}**`, ...perRound.map(format), `>= ${min}`, met(value, min)]));
    }
    for (const [top, bottom] of [['ours', 'net'], ['ours', 'uvloop'], ['net-await', 'net'], ['ours', 'net-await'], ['ours', 'ours-base'], ['ours-base', 'net']] as const) {
      if (!options.servers.includes(top) || !options.servers.includes(bottom)) continue;
      // Server CPU per request, inverted: the comparison the client's ceiling cannot flatten.
      const { perRound, median: value } = perRoundRatios(options.rounds, cpuRate(n), top, bottom);
      lines.push(row([`${top} / ${bottom}, requests per server CPU second`, n, format(value), ...perRound.map(format), '-', '']));
    }
  }
  return lines.join('\n');
}

async function main(args: string[]): Promise<void> {
  if (args[0] === 'run') {
    const [, serverId = '', n = '', seconds = '5'] = args;
    serverById(serverId);
    await runForDriver(serverId, Number(n), Number(seconds));
    return;
  }
  const options = parseRoundsOptions(args, { rounds: 5, servers: SERVERS.filter((server) => server.standard).map((server) => server.id) }, serverById);
  const { runs, failures } = await runRounds(
    options,
    (server, n, build) => runEcho(server, n, { ...options, build }),
    (run) =>
      `${format(run.requestsPerSecond)} req/s, server ${format(run.serverUsPerRequest)} µs/req ` +
      `(${format(run.serverCpuPercent)} %), client ${format(run.clientCpuPercent)} %, other cores ${format(run.otherCores)}`,
  );
  finish(options.json, { options, runs, failures }, report(options, runs));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2));
}
