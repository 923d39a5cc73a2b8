/**
 * The Deno HTTP/1.1 servers of `http.bench.ts`, one per process, on 127.0.0.1 with an OS port
 * (printed as `PORT n`), TCP_NODELAY on every connection, each answering every keep-alive GET
 * with the same fixed response (`_http-request.ts`):
 *
 *   ours        the Deno entry's startServer(); loop `readuntil('\r\n\r\n')`, parse, `write()`, `await drain()`
 *   raw         `Deno.listen`: loop `await conn.read(buffer)`, the same parsing, `await conn.write()`: the anchor
 *   deno-serve  `Deno.serve()` answering `new Response(body)` (reference: Deno's own HTTP stack)
 *
 *   deno run --allow-all bench/_servers/http-deno.ts VARIANT
 *
 * `ours` runs the sources of lib/, or those `BENCH_LIBRARY` names (see `loadRuntimeLibrary()`).
 */
import { loadRuntimeLibrary } from '../_runtimes.ts';
import { denoNamespace, type DenoConn } from '../../lib/runtime/deno/namespace.ts';
import { httpLoop } from './_http-loop.ts';
import { HeadSplitter, parseHead, RESPONSE } from './_http-request.ts';
import { announcePort, exitWithParent } from './_lifetime.ts';

const MAX_SECONDS = 600;
const BODY = 'Hello, World!';

async function rawHttp(conn: DenoConn): Promise<void> {
  const buffer = new Uint8Array(65536);
  const heads = new HeadSplitter();
  let keepAlive = true;
  try {
    while (keepAlive) {
      const size = await conn.read(buffer);
      if (size === null) break;
      let answers = 0;
      heads.push(buffer.subarray(0, size), (bytes, start, end) => {
        keepAlive &&= parseHead(bytes, start, end).keepAlive;
        answers += 1;
      });
      for (; answers > 0; answers--) for (let at = 0; at < RESPONSE.length; ) at += await conn.write(RESPONSE.subarray(at));
    }
  } catch (error) {
    if (!(error instanceof Error && /reset|broken pipe/i.test(error.message))) console.error(`raw: ${String(error)}`);
  } finally {
    conn.close();
  }
}

interface DenoServe {
  serve(options: { hostname: string; port: number; onListen?: () => void }, handler: () => Response): { addr: { port: number } };
}

const servers: Record<string, () => Promise<number>> = {
  ours: async () => {
    const { startServer } = (await loadRuntimeLibrary()).library;
    const server = await startServer(httpLoop, '127.0.0.1', 0);
    return (server.sockets[0]!.getsockname() as [string, number])[1];
  },
  raw: async () => {
    const listener = denoNamespace().listen({ hostname: '127.0.0.1', port: 0 });
    void (async () => {
      for await (const conn of listener) {
        conn.setNoDelay?.(true);
        void rawHttp(conn);
      }
    })();
    return (listener.addr as { port: number }).port;
  },
  'deno-serve': async () => {
    const deno = denoNamespace() as unknown as DenoServe;
    const server = deno.serve({ hostname: '127.0.0.1', port: 0, onListen: () => {} }, () => new Response(BODY, { headers: { 'Content-Type': 'text/plain' } }));
    return server.addr.port;
  },
};

const [variant = ''] = process.argv.slice(2);
const start = servers[variant];
if (!start) throw new Error(`usage: http-deno.ts ${Object.keys(servers).join('|')} (got '${variant}')`);
exitWithParent(MAX_SECONDS);
announcePort(await start());
