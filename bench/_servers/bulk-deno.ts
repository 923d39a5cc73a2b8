/**
 * The Deno receivers of `bulk.bench.ts`, as `bulk-node.ts` (same `PORT n` and `BULK {...}`
 * lines): one connection on 127.0.0.1, TOTAL bytes then EOF, timed from the first byte.
 *
 *   ours           the Deno entry's startServer(); loop `await reader.readexactly(65536)`, then EOF
 *   ours-read      the same with `await reader.read(65536)` until EOF
 *   ours-readinto  the same with `await reader.readinto(frame)` into one reused 64 KiB buffer until 0
 *   raw            `Deno.listen`, `await conn.read(buffer)` into one reused 64 KiB buffer until EOF: the limit
 *   raw-fresh      the same into a fresh 64 KiB array per read: the cheapest shape of a loop whose
 *                  reads return arrays of their own (`read(65536)`, `readexactly(65536)`): their floor
 *
 *   deno run --allow-all bench/_servers/bulk-deno.ts VARIANT TOTAL_BYTES
 */
import { startServer, type StreamReader } from '../../lib/runtime/deno.ts';
import { denoNamespace } from '../../lib/runtime/deno/namespace.ts';
import { BulkClock, fail } from './_bulk-clock.ts';
import { announcePort, exitWithParent } from './_lifetime.ts';

const READ_SIZE = 65536;
const MAX_SECONDS = 300;

const [variant = '', totalArg = ''] = process.argv.slice(2);
const total = Number(totalArg);
if (!Number.isSafeInteger(total) || total <= 0 || total % READ_SIZE) {
  throw new Error(`TOTAL_BYTES must be a positive multiple of ${READ_SIZE} (got '${totalArg}')`);
}

const clock = new BulkClock(total);

async function readAll(reader: StreamReader): Promise<void> {
  let bytes = 0;
  let reads = 0;
  for (let i = 0; i < total / READ_SIZE; i++) {
    bytes += (await reader.readexactly(READ_SIZE)).length;
    clock.start();
    reads++;
  }
  const rest = await reader.read(READ_SIZE);
  clock.finish(bytes + rest.length, reads);
}

async function readChunks(reader: StreamReader): Promise<void> {
  let bytes = 0;
  let reads = 0;
  // Bounded: at least one byte per read until EOF.
  for (let i = 0; i <= total; i++) {
    const chunk = await reader.read(READ_SIZE);
    clock.start();
    if (chunk.length === 0) break;
    bytes += chunk.length;
    reads++;
  }
  clock.finish(bytes, reads);
}

async function readInto(reader: StreamReader): Promise<void> {
  const frame = new Uint8Array(READ_SIZE);
  let bytes = 0;
  let reads = 0;
  // Bounded: at least one byte per read until EOF.
  for (let i = 0; i <= total; i++) {
    const count = await reader.readinto(frame);
    clock.start();
    if (count === 0) break;
    bytes += count;
    reads++;
  }
  clock.finish(bytes, reads);
}

async function serveOnce(read: (reader: StreamReader) => Promise<void>): Promise<number> {
  const server = await startServer(
    (reader, writer) => {
      server.close();
      // The writer is kept until the end: a collected writer closes its connection.
      read(reader).then(() => writer.close(), fail);
    },
    '127.0.0.1',
    0,
  );
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

async function raw(fresh: boolean): Promise<number> {
  const listener = denoNamespace().listen({ hostname: '127.0.0.1', port: 0 });
  void (async () => {
    const conn = await listener.accept();
    listener.close();
    const buffer = new Uint8Array(READ_SIZE);
    let bytes = 0;
    let reads = 0;
    for (let size: number | null; (size = await conn.read(fresh ? new Uint8Array(READ_SIZE) : buffer)) !== null; ) {
      clock.start();
      bytes += size;
      reads++;
    }
    clock.finish(bytes, reads);
  })().catch(fail);
  return (listener.addr as { port: number }).port;
}

const receivers: Record<string, () => Promise<number>> = {
  ours: () => serveOnce(readAll),
  'ours-read': () => serveOnce(readChunks),
  'ours-readinto': () => serveOnce(readInto),
  raw: () => raw(false),
  'raw-fresh': () => raw(true),
};

const start = receivers[variant];
if (!start) throw new Error(`usage: bulk-deno.ts ${Object.keys(receivers).join('|')} TOTAL_BYTES (got '${variant}')`);
exitWithParent(MAX_SECONDS);
announcePort(await start());
