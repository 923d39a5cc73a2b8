/**
 * Helpers for the network specs: loopback servers that the test starts itself, Unix socket
 * paths in a private temporary directory, a time limit for anything that could hang, and a
 * watch for unhandled rejections and uncaught exceptions.
 */
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server as NetServer, type Socket as NetSocket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

export function text(data: Uint8Array): string {
  return decoder.decode(data);
}

/** One macrotask turn: pending jobs, I/O callbacks and rejection tracking have run. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects when `promise` takes longer than `ms`, so a hang fails the test instead of the run. */
export async function within<T>(promise: Promise<T>, ms = 5000, what = 'the operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until `predicate()` holds, checking every few milliseconds; fails after `ms`. */
export async function until(predicate: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) assert.unreachable(`the condition did not hold within ${ms} ms`);
    await sleep(5);
  }
}

/** Whether `promise` is still pending after the pending I/O and timers of one turn have run. */
export async function isPending(promise: Promise<unknown>, ms = 20): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await sleep(ms);
  return !settled;
}

/** The error a promise rejects with; fails when it resolves. */
export async function rejection(promise: Promise<unknown>, ms = 5000): Promise<unknown> {
  try {
    await within(promise, ms, 'the rejection');
  } catch (error) {
    return error;
  }
  assert.unreachable('expected a rejection');
  return undefined;
}

/** The error a function throws synchronously; fails when it returns. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  assert.unreachable('expected a throw');
  return undefined;
}

/** Records unhandled rejections and uncaught exceptions until `stop()`, which fails on any. */
export function watchUnhandled(): { stop(): Promise<void> } {
  const seen: unknown[] = [];
  const record = (error: unknown): void => void seen.push(error);
  process.on('unhandledRejection', record);
  process.on('uncaughtException', record);
  return {
    async stop() {
      // Rejection tracking runs after the microtasks of a turn: give it two turns.
      await tick();
      await tick();
      process.off('unhandledRejection', record);
      process.off('uncaughtException', record);
      assert.equal(seen.map(String), [], 'no unhandled rejection or uncaught exception');
    },
  };
}

/** A private temporary directory for Unix sockets; `remove()` deletes it. */
export function tempDir(): { path(name: string): string; remove(): void } {
  const directory = mkdtempSync(join(tmpdir(), 'asyncio-streams-spec-'));
  return {
    path: (name) => join(directory, name),
    remove: () => rmSync(directory, { recursive: true, force: true }),
  };
}

/** A raw `net` server on loopback (or a Unix path) whose connections go to `onConnection`. */
export interface RawServer {
  readonly server: NetServer;
  readonly port: number;
  readonly host: string;
  readonly path: string | undefined;
  /** Every connection accepted so far. */
  readonly connections: NetSocket[];
  /** Resolves with the next connection accepted (or the first one not yet taken). */
  accepted(): Promise<NetSocket>;
  /** Destroys every connection and closes the server. */
  close(): Promise<void>;
}

export async function rawServer(
  onConnection: (socket: NetSocket) => void = () => {},
  where: { host?: string; path?: string } = {},
): Promise<RawServer> {
  const connections: NetSocket[] = [];
  const waiting: Array<(socket: NetSocket) => void> = [];
  let taken = 0;
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    connections.push(socket);
    onConnection(socket);
    const next = waiting.shift();
    if (next !== undefined) {
      taken += 1;
      next(socket);
    }
  });
  const host = where.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (where.path !== undefined) server.listen(where.path, resolve);
    else server.listen(0, host, resolve);
  });
  const address = server.address();
  return {
    server,
    host,
    port: typeof address === 'string' ? 0 : (address as AddressInfo).port,
    path: where.path,
    connections,
    accepted() {
      if (taken < connections.length) return Promise.resolve(connections[taken++]!);
      return new Promise((resolve) => waiting.push(resolve));
    },
    close() {
      for (const socket of connections) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * CPython's `run_test_server()`: answers any request with a fixed HTTP/1.0 response and closes.
 * The response ends with `\r\n\r\nTest message`.
 */
export function httpServer(where: { host?: string; path?: string } = {}): Promise<RawServer> {
  return rawServer((socket) => {
    let request = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      request += chunk;
      if (!request.includes('\r\n\r\n')) return;
      socket.end('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nTest message');
    });
    socket.on('end', () => socket.destroy());
  }, where);
}

/** A raw echo server: echoes everything, half-closes after the peer's EOF. */
export function echoServer(where: { host?: string; path?: string } = {}): Promise<RawServer> {
  return rawServer((socket) => {
    socket.pipe(socket);
  }, where);
}

/** Whether this machine can listen on `::1`. */
export async function hasIpv6Loopback(): Promise<boolean> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '::1', resolve);
    });
    return true;
  } catch {
    return false;
  } finally {
    server.close();
  }
}
