/**
 * Load and soak over 127.0.0.1 (issue 6, "Reliability"), in two phases:
 *
 * 1. Load: an echo server holding 1,000 connections at once (fewer if `ulimit -n` cannot hold
 *    both ends of that many in one process), 100 round trips on each, every byte checked, file
 *    socket descriptors back to the baseline (spec/load.spec.ts runs the same).
 * 2. Soak: for 2 minutes, resident clients echo without pause while others connect, exchange
 *    a few messages and leave. Every 5 s it prints RSS, heap and external memory (after a full
 *    GC), open sockets and totals; at the end it checks that memory is steady (the heap's
 *    trend over the run after the warm-up, and RSS's spread) and that the sockets are back.
 *
 *   npx tsx bench/soak.ts                               the full run (about 2.5 minutes)
 *   npx tsx bench/soak.ts --seconds 30 --connections 200 --messages 20 --resident 50
 *
 * Exits 0 when everything held, 1 otherwise, by itself in both cases (every loop is bounded
 * by the deadline or its count, and everything it opens is closed).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  closeClients,
  connectionsWithin,
  exchange,
  openClients,
  runEchoLoad,
  startEchoServer,
  type Client,
} from '../spec/_echo-load.ts';
import { openSockets, socketsBackTo } from '../spec/_leaks.ts';

interface Options {
  seconds: number;
  connections: number;
  messages: number;
  resident: number;
  sampleSeconds: number;
}

function parseOptions(argv: readonly string[]): Options {
  const options: Options = { seconds: 120, connections: 1000, messages: 100, resident: 100, sampleSeconds: 5 };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i]!.replace(/^--/, '');
    const value = Number(argv[i + 1]);
    if (!(name in options) && name !== 'sample') throw new RangeError(`unknown option --${name}`);
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`--${name} needs a positive number, got ${argv[i + 1]}`);
    if (name === 'sample') options.sampleSeconds = value;
    else options[name as keyof Options] = value;
  }
  return options;
}

/** A full GC before each memory sample, so the heap figure is what is live, not what is garbage. */
function fullGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

interface Sample {
  seconds: number;
  rssMB: number;
  heapMB: number;
  externalMB: number;
  sockets: number;
  messages: number;
  connections: number;
}

const MB = 1024 * 1024;

function row(sample: Sample): string {
  return [
    `${sample.seconds.toFixed(0).padStart(4)} s`,
    `rss ${sample.rssMB.toFixed(1).padStart(6)} MB`,
    `heap ${sample.heapMB.toFixed(2).padStart(6)} MB`,
    `external ${sample.externalMB.toFixed(2).padStart(6)} MB`,
    `sockets ${String(sample.sockets).padStart(4)}`,
    `messages ${String(sample.messages).padStart(8)}`,
    `connections opened ${sample.connections}`,
  ].join('  ');
}

/** Least-squares slope of `y` over `x`. */
function slope(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (x[i]! - mx) * (y[i]! - my);
    den += (x[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

async function load(options: Options): Promise<boolean> {
  const connections = connectionsWithin(options.connections);
  if (connections < options.connections) {
    console.log(`ulimit -n allows ${connections} connections with both ends in this process, not ${options.connections}`);
  }
  const result = await runEchoLoad(connections, options.messages);
  console.log(
    `load: ${result.connections} connections held at once (the server ran ${result.peak} handlers together), ` +
      `${result.messages} round trips, ${(result.bytesVerified / MB).toFixed(1)} MB echoed and checked byte for byte ` +
      `in ${(result.milliseconds / 1000).toFixed(1)} s; sockets ${result.sockets.before} -> ${result.sockets.during} -> ${result.sockets.after}`,
  );
  const ok = result.peak === connections && result.sockets.after === result.sockets.before;
  if (!ok) console.log('load: FAILED (not every connection was held at once, or descriptors leaked)');
  return ok;
}

async function soak(options: Options): Promise<boolean> {
  const gc = fullGc();
  const baselineSockets = openSockets();
  const server = await startEchoServer();
  const started = Date.now();
  const deadline = started + options.seconds * 1000;
  let messages = 0;
  let bytesVerified = 0;
  let opened = 0;
  let failure: unknown = null;
  const samples: Sample[] = [];

  const resident: Client[] = await openClients(server.port, options.resident);
  opened += resident.length;
  const residentLoops = resident.map(async (client, id) => {
    for (let round = 0; Date.now() < deadline; round++) {
      // Not `bytesVerified += await ...`: that reads the total before the await and loses the
      // other loops' additions.
      const verified = await exchange(client, id, 10, 8 * 1024, round * 10);
      bytesVerified += verified;
      messages += 10;
    }
  });
  const churn = (async () => {
    for (let round = 0; Date.now() < deadline; round++) {
      const visitors = await openClients(server.port, 10);
      opened += visitors.length;
      const counts = await Promise.all(visitors.map((client, i) => exchange(client, 100_000 + i, 5, 8 * 1024, round * 5)));
      bytesVerified += counts.reduce((sum, count) => sum + count, 0);
      messages += 50;
      await closeClients(visitors);
    }
  })();
  const sampler = (async () => {
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(options.sampleSeconds * 1000, Math.max(0, deadline - Date.now()))));
      gc();
      const memory = process.memoryUsage();
      const sample: Sample = {
        seconds: (Date.now() - started) / 1000,
        rssMB: memory.rss / MB,
        heapMB: memory.heapUsed / MB,
        externalMB: (memory.external + memory.arrayBuffers) / MB,
        sockets: openSockets(),
        messages,
        connections: opened,
      };
      samples.push(sample);
      console.log(row(sample));
    }
  })();

  try {
    await Promise.all([...residentLoops, churn, sampler]);
  } catch (error) {
    failure = error;
  } finally {
    await closeClients(resident).catch((error: unknown) => (failure ??= error));
    await server.close();
  }
  const socketsAfter = await socketsBackTo(baselineSockets);
  if (failure !== null) {
    console.log(`soak: FAILED: ${String(failure)}`);
    return false;
  }
  if (server.errors.length > 0) {
    console.log(`soak: FAILED: the server reported ${server.errors.map(String).join('; ')}`);
    return false;
  }

  // The first fifth (at least two samples) is warm-up: pools, JIT and socket buffers settle.
  const steady = samples.slice(Math.max(2, Math.floor(samples.length / 5)));
  let ok = socketsAfter === baselineSockets;
  const verdicts = [`sockets ${baselineSockets} -> ${socketsAfter} after every connection closed`];
  if (steady.length >= 3) {
    const heapTrend = slope(steady.map((s) => s.seconds), steady.map((s) => s.heapMB)) * 60;
    const meanHeap = steady.reduce((sum, s) => sum + s.heapMB, 0) / steady.length;
    const rss = steady.map((s) => s.rssMB);
    const rssSpread = Math.max(...rss) - Math.min(...rss);
    const meanRss = rss.reduce((a, b) => a + b, 0) / rss.length;
    // Steady: the live heap grows by less than 1 MB a minute, and RSS varies by less than a fifth.
    const heapSteady = heapTrend < 1;
    const rssSteady = rssSpread < meanRss / 5;
    ok &&= heapSteady && rssSteady;
    verdicts.push(
      `heap trend ${heapTrend >= 0 ? '+' : ''}${heapTrend.toFixed(3)} MB/min around ${meanHeap.toFixed(1)} MB (${heapSteady ? 'steady' : 'GROWING'})`,
      `RSS ${Math.min(...rss).toFixed(1)}-${Math.max(...rss).toFixed(1)} MB (${rssSteady ? 'steady' : 'UNSTEADY'})`,
    );
  } else {
    verdicts.push('too short to judge memory (fewer than 3 samples after the warm-up)');
  }
  const total = samples.at(-1);
  console.log(
    `soak: ${options.seconds} s, ${total?.messages ?? messages} round trips, ${(bytesVerified / MB).toFixed(1)} MB echoed and checked byte for byte, ` +
      `${opened} connections opened and closed; ${verdicts.join('; ')}`,
  );
  if (!ok) console.log('soak: FAILED');
  return ok;
}

const options = parseOptions(process.argv.slice(2));
const loaded = await load(options);
const soaked = await soak(options);
process.exitCode = loaded && soaked ? 0 : 1;
