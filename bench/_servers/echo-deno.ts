/**
 * The Deno echo servers of `echo.bench.ts`, one per process, on 127.0.0.1 with an OS port
 * (printed as `PORT n`), TCP_NODELAY on every connection:
 *
 *   ours   the Deno entry's startServer(); loop `read(65536)`, `write()`, `await drain()`
 *   raw    `Deno.listen`: loop `n = await conn.read(buffer)`, `await conn.write()` of those bytes: the limit
 *
 *   deno run --allow-all bench/_servers/echo-deno.ts VARIANT
 *
 * `ours` runs the sources of lib/, or those `BENCH_LIBRARY` names (see `loadRuntimeLibrary()`).
 */
import { loadRuntimeLibrary } from '../_runtimes.ts';
import { denoNamespace, type DenoConn } from '../../lib/runtime/deno/namespace.ts';
import { echoLoop, MAX_ECHOES } from './_echo-loop.ts';
import { announcePort, exitWithParent } from './_lifetime.ts';

const MAX_SECONDS = 600;

async function rawEcho(conn: DenoConn): Promise<void> {
  const buffer = new Uint8Array(65536);
  try {
    for (let i = 0; i < MAX_ECHOES; i++) {
      const size = await conn.read(buffer);
      if (size === null) break;
      for (let at = 0; at < size; ) at += await conn.write(buffer.subarray(at, size));
    }
  } catch {
    // The client went away: nothing to report.
  } finally {
    conn.close();
  }
}

const servers: Record<string, () => Promise<number>> = {
  ours: async () => {
    const { startServer } = (await loadRuntimeLibrary()).library;
    const server = await startServer(echoLoop, '127.0.0.1', 0);
    return (server.sockets[0]!.getsockname() as [string, number])[1];
  },
  raw: async () => {
    const listener = denoNamespace().listen({ hostname: '127.0.0.1', port: 0 });
    void (async () => {
      for await (const conn of listener) {
        conn.setNoDelay?.(true);
        void rawEcho(conn);
      }
    })();
    return (listener.addr as { port: number }).port;
  },
};

const [variant = ''] = process.argv.slice(2);
const start = servers[variant];
if (!start) throw new Error(`usage: echo-deno.ts ${Object.keys(servers).join('|')} (got '${variant}')`);
exitWithParent(MAX_SECONDS);
announcePort(await start());
