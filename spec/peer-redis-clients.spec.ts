/**
 * Redis's own clients against a RESP server of ours on `startServer`/`startUnixServer`:
 * `redis-benchmark` (many connections, pipelined commands, inline and RESP requests) and
 * `redis-cli` (binary-safe values), started by the spec. The server parses requests with
 * `readuntil`/`readexactly`. Runs on Node, Deno and Bun.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { IncompleteReadError, type Server, type StreamReader, type StreamWriter } from '../lib/index.ts';
import { peerLeakFree, runPeer } from './_peer-process.ts';
import { runtime, startServer, startUnixServer } from './_runtime.ts';
import { tempDir, text, within } from './_loopback.ts';

/** Far above what each run takes (a second or two), so only a hang trips it. */
const LIMIT_MS = 60_000;
const encoder = new TextEncoder();

/**
 * One request: a RESP array of bulk strings (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`), or an inline
 * command (`PING\r\n`); null when the client closed between requests.
 */
async function readRequest(reader: StreamReader): Promise<Uint8Array[] | null> {
  let line: Uint8Array;
  try {
    line = await reader.readuntil('\r\n');
  } catch (error) {
    if (error instanceof IncompleteReadError && error.partial.byteLength === 0) return null;
    throw error;
  }
  if (line[0] !== 0x2a /* '*' */) return text(line).trim().split(/ +/).filter((word) => word !== '').map((word) => encoder.encode(word));
  const count = Number(text(line.subarray(1, -2)));
  const args: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const header = await reader.readuntil('\r\n');
    const length = Number(text(header.subarray(1, -2)));
    args.push((await reader.readexactly(length + 2)).subarray(0, length));
  }
  return args;
}

function bulk(value: Uint8Array | undefined): Uint8Array {
  if (value === undefined) return encoder.encode('$-1\r\n');
  const head = encoder.encode(`$${value.byteLength}\r\n`);
  const reply = new Uint8Array(head.byteLength + value.byteLength + 2);
  reply.set(head);
  reply.set(value, head.byteLength);
  reply.set([13, 10], head.byteLength + value.byteLength);
  return reply;
}

/** A key-value store that speaks enough RESP2 for redis-benchmark and redis-cli; counts the commands. */
function miniRedis(store: Map<string, Uint8Array>, counts: Map<string, number>) {
  return async (reader: StreamReader, writer: StreamWriter): Promise<void> => {
    try {
      for (;;) {
        const request = await readRequest(reader);
        if (request === null) return;
        if (request.length === 0) continue;
        const name = text(request[0]!).toUpperCase();
        counts.set(name, (counts.get(name) ?? 0) + 1);
        switch (name) {
          case 'PING':
            writer.write(request.length > 1 ? bulk(request[1]) : '+PONG\r\n');
            break;
          case 'SET':
            store.set(text(request[1]!), request[2]!);
            writer.write('+OK\r\n');
            break;
          case 'GET':
            writer.write(bulk(store.get(text(request[1]!))));
            break;
          case 'CONFIG':
            // redis-benchmark asks for `save` and `appendonly` first: an empty answer is fine.
            writer.write('*0\r\n');
            break;
          default:
            writer.write(`-ERR unknown command '${name}'\r\n`);
        }
        await writer.drain();
      }
    } catch (error) {
      // redis-benchmark closes its connections once it has its n replies, whatever is still in
      // flight on the others: answers to those fail with the runtime's broken-connection error.
      if (!['EPIPE', 'ECONNRESET'].includes((error as { code?: string }).code ?? '')) throw error;
    } finally {
      writer.close();
      await writer.waitClosed().catch(() => {});
    }
  };
}

interface Served {
  store: Map<string, Uint8Array>;
  counts: Map<string, number>;
}

/** Runs `body` against a fresh server (TCP: `-h -p`; Unix: `-s`), then closes it and checks for leaks. */
async function withServer(kind: 'tcp' | 'unix', body: (where: string[], served: Served) => Promise<void>): Promise<void> {
  const served: Served = { store: new Map(), counts: new Map() };
  const dir = tempDir();
  try {
    await peerLeakFree(async () => {
      const handler = miniRedis(served.store, served.counts);
      const server: Server = kind === 'unix' ? await startUnixServer(handler, dir.path('redis.sock')) : await startServer(handler, '127.0.0.1', 0);
      try {
        const name = server.sockets[0]!.getsockname();
        await body(kind === 'unix' ? ['-s', name as string] : ['-h', '127.0.0.1', '-p', String((name as [string, number])[1])], served);
      } finally {
        server.close();
        await within(server.waitClosed(), LIMIT_MS);
      }
    });
  } finally {
    dir.remove();
  }
}

for (const kind of ['tcp', 'unix'] as const) {
  const test = suite(`redis-benchmark and redis-cli against a RESP server of ours over ${kind} (${runtime})`);

  test('redis-benchmark: 20 connections, 16 commands pipelined, inline and RESP, every one answered', async () => {
    await withServer(kind, async (where, served) => {
      const n = 10_000;
      const outcome = await runPeer('redis-benchmark', [...where, '-t', 'ping_inline,ping_mbulk,set,get', '-n', String(n), '-c', '20', '-P', '16', '--csv'], { ms: LIMIT_MS });
      assert.is(outcome.code, 0, outcome.stderr);
      const rows = outcome.stdout.trim().split('\n').slice(1).map((row) => row.split(',')[0]!.replace(/"/g, ''));
      assert.equal(rows, ['PING_INLINE', 'PING_MBULK', 'SET', 'GET']);
      // Each test needs n replies; pipelines still in flight when it has them may add up to a
      // batch per connection more.
      const inFlight = 20 * 16;
      const about = (name: string, expected: number) => {
        const count = served.counts.get(name) ?? 0;
        assert.ok(count >= expected && count <= expected + inFlight, `${name}: ${count} commands for ${expected} replies`);
      };
      about('PING', 2 * n);
      about('SET', n);
      about('GET', n);
      assert.is(served.store.get('key:__rand_int__')!.byteLength, 3, 'the SET value: 3 bytes by default');
    });
  });

  test('redis-cli: a binary value with CRLF set and read back, and an error reply', async () => {
    await withServer(kind, async (where, served) => {
      const value = 'line one\r\nline two\x00\xff';
      const set = await runPeer('redis-cli', [...where, '-x', 'SET', 'binary'], { input: value, ms: LIMIT_MS });
      assert.is(set.stdout, 'OK\n', set.stderr);
      assert.equal(Array.from(served.store.get('binary')!), Array.from(encoder.encode(value)));
      const get = await runPeer('redis-cli', [...where, '--no-raw', 'GET', 'binary'], { ms: LIMIT_MS });
      assert.is(get.stdout, `"line one\\r\\nline two\\x00\\xc3\\xbf"\n`);
      const error = await runPeer('redis-cli', [...where, 'FLUSHALL'], { ms: LIMIT_MS });
      assert.is(error.stdout.trimEnd(), "ERR unknown command 'FLUSHALL'");
    });
  });

  test.run();
}
