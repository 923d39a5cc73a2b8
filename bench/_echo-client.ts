/**
 * The one echo client every server of `echo.bench.ts` is measured with (vmbench style): raw
 * `node:net`, N connections with TCP_NODELAY, each sending a message and waiting for its
 * complete echo before sending the next. It warms up, then counts round trips over a fixed
 * window, reading over the same window the server's CPU time from /proc (so the server's cost
 * per request is known whatever the client manages) and the CPU that other processes used.
 *
 *   node --import tsx bench/_echo-client.ts '{"port":1234,"connections":50,"seconds":5,...}'
 *
 * prints one `ECHO {json}` line (see `EchoClientResult`).
 */
import { connect, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { machineBusySeconds, processCpuSeconds } from './_net-process.ts';

export interface EchoClientOptions {
  port: number;
  connections: number;
  /** Bytes per message; default 1024. */
  messageSize?: number;
  /** Seconds of traffic before the window opens; default 1. */
  warmupSeconds?: number;
  /** Seconds of the measured window; default 5. */
  seconds?: number;
  /** No connection sends more than this many messages (a bound, not a target); default 10 M. */
  maxRequestsPerConnection?: number;
  /** The server's pid, for its CPU time over the window. */
  serverPid?: number;
}

export interface EchoClientResult {
  /** Round trips completed inside the window. */
  requests: number;
  /** The window's length, measured. */
  seconds: number;
  /** Server CPU seconds over the window (null without /proc or a pid). */
  serverCpuSeconds: number | null;
  /** This client's CPU seconds over the window. */
  clientCpuSeconds: number;
  /** Cores used by other processes over the window (null without /proc). */
  otherCores: number | null;
  /** This client's CPU seconds from its start to its end (what `run.ts` counts as ours). */
  clientTotalCpuSeconds: number;
}

interface Snapshot {
  at: number;
  requests: number;
  serverCpu: number | null;
  clientCpu: number;
  busy: number | null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs the client against 127.0.0.1:`port` and resolves once every connection is closed. */
export async function runEchoClient(options: EchoClientOptions): Promise<EchoClientResult> {
  const size = options.messageSize ?? 1024;
  const warmupMs = (options.warmupSeconds ?? 1) * 1000;
  const windowMs = (options.seconds ?? 5) * 1000;
  const maxPerConnection = options.maxRequestsPerConnection ?? 10_000_000;
  const message = Buffer.alloc(size);
  for (let i = 0; i < size; i++) message[i] = 97 + (i % 26);

  let requests = 0;
  let stopping = false;
  let failure: Error | null = null;
  const sockets: Socket[] = [];
  const closed: Promise<void>[] = [];
  const connected: Promise<void>[] = [];

  for (let c = 0; c < options.connections; c++) {
    const socket = connect({ port: options.port, host: '127.0.0.1', noDelay: true });
    sockets.push(socket);
    let received = 0;
    let sent = 0;
    let checked = false;
    let first: Buffer[] = [];
    const send = (): void => {
      if (stopping || sent >= maxPerConnection) {
        socket.end();
        return;
      }
      sent++;
      socket.write(message);
    };
    connected.push(
      new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('error', reject);
      }),
    );
    closed.push(new Promise<void>((resolve) => socket.once('close', () => resolve())));
    socket.on('error', (error) => {
      if (!stopping) failure ??= error;
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      // The first echo of each connection is compared byte for byte; then lengths only.
      if (!checked) first.push(chunk);
      if (received < size) return;
      if (received > size) {
        failure ??= new Error(`the server sent ${received} bytes for a ${size}-byte message`);
        socket.destroy();
        return;
      }
      if (!checked) {
        checked = true;
        if (!Buffer.concat(first).equals(message)) {
          failure ??= new Error('the echo differs from the message');
          socket.destroy();
          return;
        }
        first = [];
      }
      received = 0;
      requests++;
      send();
    });
  }
  await Promise.all(connected);

  const snapshot = (): Snapshot => {
    const usage = process.cpuUsage();
    return {
      at: performance.now(),
      requests,
      serverCpu: options.serverPid === undefined ? null : processCpuSeconds(options.serverPid),
      clientCpu: (usage.user + usage.system) / 1e6,
      busy: machineBusySeconds(),
    };
  };

  for (const socket of sockets) socket.write(message);
  await sleep(warmupMs);
  const start = snapshot();
  await sleep(windowMs);
  const end = snapshot();
  stopping = true;
  // Each connection ends after its last echo; one that does not within 5 s is destroyed.
  const timer = setTimeout(() => {
    for (const socket of sockets) socket.destroy();
  }, 5000);
  await Promise.all(closed);
  clearTimeout(timer);
  if (failure) throw failure;

  const seconds = (end.at - start.at) / 1000;
  const serverCpu = start.serverCpu !== null && end.serverCpu !== null ? end.serverCpu - start.serverCpu : null;
  const clientCpu = end.clientCpu - start.clientCpu;
  const otherCores =
    start.busy !== null && end.busy !== null
      ? Math.max(0, (end.busy - start.busy - clientCpu - (serverCpu ?? 0)) / seconds)
      : null;
  const usage = process.cpuUsage();
  return {
    requests: end.requests - start.requests,
    seconds,
    serverCpuSeconds: serverCpu,
    clientCpuSeconds: clientCpu,
    otherCores,
    clientTotalCpuSeconds: (usage.user + usage.system) / 1e6,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options = JSON.parse(process.argv[2] ?? '{}') as EchoClientOptions;
  const result = await runEchoClient(options);
  console.log(`ECHO ${JSON.stringify(result)}`);
}
