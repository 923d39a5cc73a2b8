/**
 * An echo load over loopback, shared by spec/load.spec.ts (a short run) and bench/soak.ts (the
 * full 1,000 × 100 and a soak): a `startServer()` echo server, many `openConnection()` clients
 * held open together, each sending messages of varied sizes and checking every byte that comes
 * back, and the socket descriptors counted before and after.
 */
import { openConnection, startServer, type Server, type StreamReader, type StreamWriter } from '../lib/runtime/node.ts';
import { fileDescriptorLimit, openFileDescriptors, openSockets, socketsBackTo } from './_leaks.ts';

/** The most connections this process can hold at once with both ends in it, keeping `spare` descriptors. */
export function connectionsWithin(wanted: number, spare = 64): number {
  const room = fileDescriptorLimit() - openFileDescriptors() - spare;
  return Math.max(1, Math.min(wanted, Math.floor(room / 2)));
}

/** xorshift32: the same message bytes on every run, without storing them. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
}

/**
 * Message `index` of connection `connection`: 1 to `maxSize` bytes (mostly small, now and then
 * large enough to span several socket reads), its first bytes naming where it belongs.
 */
export function messageFor(connection: number, index: number, maxSize: number): Uint8Array {
  const next = random(connection * 100_003 + index * 7919 + 1);
  const roll = next() % 16;
  const size = 1 + (roll === 0 ? next() % maxSize : next() % Math.min(maxSize, 512));
  const message = new Uint8Array(size);
  for (let i = 0; i < size; i++) message[i] = next() & 0xff;
  const tag = new TextEncoder().encode(`${connection}:${index};`);
  message.set(tag.subarray(0, size));
  return message;
}

function firstDifference(actual: Uint8Array, expected: Uint8Array): number {
  const length = Math.min(actual.length, expected.length);
  for (let i = 0; i < length; i++) if (actual[i] !== expected[i]) return i;
  return actual.length === expected.length ? -1 : length;
}

/** The echo handler: everything read goes back, EOF closes. */
export async function echoHandler(reader: StreamReader, writer: StreamWriter): Promise<void> {
  try {
    for (;;) {
      const data = await reader.read(65536);
      if (data.length === 0) break;
      writer.write(data);
      await writer.drain();
    }
  } finally {
    writer.close();
  }
}

export interface EchoServer {
  readonly server: Server;
  readonly port: number;
  /** Handlers running now, and the most that ran at once. */
  readonly active: number;
  readonly peak: number;
  /** Errors the server reported through `onError`. */
  readonly errors: unknown[];
  close(): Promise<void>;
}

export async function startEchoServer(): Promise<EchoServer> {
  let active = 0;
  let peak = 0;
  const errors: unknown[] = [];
  const server = await startServer(
    async (reader, writer) => {
      active += 1;
      peak = Math.max(peak, active);
      try {
        await echoHandler(reader, writer);
      } finally {
        active -= 1;
      }
    },
    '127.0.0.1',
    0,
    { backlog: 1024, onError: (error) => void errors.push(error) },
  );
  return {
    server,
    port: (server.sockets[0]!.getsockname() as [string, number])[1],
    get active() {
      return active;
    },
    get peak() {
      return peak;
    },
    errors,
    async close() {
      server.close();
      server.abortClients();
      await server.waitClosed();
    },
  };
}

export interface Client {
  readonly reader: StreamReader;
  readonly writer: StreamWriter;
}

/** Opens `count` connections, `batch` at a time (a burst larger than the backlog would wait for SYN retries). */
export async function openClients(port: number, count: number, batch = 200): Promise<Client[]> {
  const clients: Client[] = [];
  try {
    for (let at = 0; at < count; at += batch) {
      const opened = await Promise.all(
        Array.from({ length: Math.min(batch, count - at) }, () => openConnection('127.0.0.1', port)),
      );
      for (const [reader, writer] of opened) clients.push({ reader, writer });
    }
  } catch (error) {
    await closeClients(clients);
    throw error;
  }
  return clients;
}

/**
 * Sends `messages` messages on `client` one after the other, each read back with
 * `readexactly()` and compared byte for byte; returns the bytes verified.
 * @throws {Error} naming the connection, message and offset of the first wrong byte
 */
export async function exchange(client: Client, connection: number, messages: number, maxSize: number, first = 0): Promise<number> {
  let verified = 0;
  for (let index = first; index < first + messages; index++) {
    const message = messageFor(connection, index, maxSize);
    client.writer.write(message);
    await client.writer.drain();
    const back = await client.reader.readexactly(message.length);
    const at = firstDifference(back, message);
    if (at !== -1) {
      throw new Error(`connection ${connection} message ${index}: byte ${at} of ${message.length} came back as ${back[at]}, sent ${message[at]}`);
    }
    verified += back.length;
  }
  return verified;
}

/** Half-closes each client, checks that the server answers with EOF, then closes it. */
export async function closeClients(clients: readonly Client[]): Promise<void> {
  await Promise.all(
    clients.map(async ({ reader, writer }) => {
      try {
        writer.writeEof();
        const rest = await reader.read();
        if (rest.length !== 0) throw new Error(`${rest.length} unexpected bytes after the last echo`);
      } finally {
        writer.close();
        await writer.waitClosed().catch(() => {});
      }
    }),
  );
}

export interface LoadResult {
  connections: number;
  /** How many handlers the server ran at once. */
  peak: number;
  messages: number;
  bytesVerified: number;
  milliseconds: number;
  /** Open socket descriptors before, with every connection open, and after. */
  sockets: { before: number; during: number; after: number };
}

/** The whole load: `connections` clients open together, `messages` round trips each, all checked. */
export async function runEchoLoad(connections: number, messages: number, maxSize = 16 * 1024): Promise<LoadResult> {
  const before = openSockets();
  const started = Date.now();
  const server = await startEchoServer();
  let clients: Client[] = [];
  let during = before;
  let bytesVerified = 0;
  try {
    clients = await openClients(server.port, connections);
    await waitFor(() => server.active === connections, 10_000, () => `${server.active} of ${connections} handlers started`);
    during = openSockets();
    const counts = await Promise.all(clients.map((client, connection) => exchange(client, connection, messages, maxSize)));
    bytesVerified = counts.reduce((sum, count) => sum + count, 0);
    await closeClients(clients);
    clients = [];
    await waitFor(() => server.active === 0, 10_000, () => `${server.active} handlers still running`);
  } finally {
    await closeClients(clients).catch(() => {});
    await server.close();
  }
  if (server.errors.length > 0) throw new Error(`the server reported: ${server.errors.map(String).join('; ')}`);
  const after = await socketsBackTo(before);
  return {
    connections,
    peak: server.peak,
    messages: connections * messages,
    bytesVerified,
    milliseconds: Date.now() - started,
    sockets: { before, during, after },
  };
}

async function waitFor(predicate: () => boolean, ms: number, state: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`waited ${ms} ms: ${state()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
