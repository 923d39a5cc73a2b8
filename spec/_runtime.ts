/**
 * The adapter of the runtime the specs run on, as `import { ... } from 'asyncio-streams'` picks
 * it through the package's `exports` conditions: Deno's under Deno, Bun's under Bun, else
 * Node's. The portable network specs import the connection functions from here, so one spec
 * file tests every adapter.
 */
import type {
  OpenConnectionOptions,
  OpenUnixConnectionOptions,
  Server,
  StartServerOptions,
  StartUnixServerOptions,
  StreamPair,
  StreamReader,
  StreamWriter,
} from '../lib/index.ts';
import type { ClientConnectedCallback } from '../lib/_client-callback.ts';

export type RuntimeName = 'deno' | 'bun' | 'node';

/** Which runtime this is. */
export const runtime: RuntimeName = 'Deno' in globalThis ? 'deno' : 'Bun' in globalThis ? 'bun' : 'node';

interface Adapter {
  openConnection(host?: string | null, port?: number | string | null, options?: OpenConnectionOptions<StreamPair>): Promise<[StreamReader, StreamWriter]>;
  openUnixConnection(path?: string | null, options?: OpenUnixConnectionOptions<StreamPair>): Promise<[StreamReader, StreamWriter]>;
  startServer(cb: ClientConnectedCallback, host?: string | readonly string[] | null, port?: number | string | null, options?: StartServerOptions<never>): Promise<Server>;
  startUnixServer(cb: ClientConnectedCallback, path?: string | null, options?: StartUnixServerOptions<never>): Promise<Server>;
}

const adapter: Adapter =
  runtime === 'deno'
    ? await import('../lib/runtime/deno.ts')
    : runtime === 'bun'
      ? await import('../lib/runtime/bun.ts')
      : await import('../lib/runtime/node.ts');

export const { openConnection, openUnixConnection, startServer, startUnixServer } = adapter;

/** The adapter's own socket (WinterTC shape) for a TCP connection: `NodeSocket`, `DenoSocket` or `BunSocket`. */
export interface RuntimeSocket {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  readonly opened: Promise<unknown>;
  close(): Promise<void>;
}

/** Connects to `host:port` and wraps the runtime's connection in the adapter's socket class. */
export async function connectSocket(host: string, port: number): Promise<RuntimeSocket> {
  if (runtime === 'deno') {
    const { DenoSocket } = await import('../lib/runtime/deno.ts');
    const { denoNamespace } = await import('../lib/runtime/deno/namespace.ts');
    return new DenoSocket(await denoNamespace().connect({ hostname: host, port }));
  }
  if (runtime === 'bun') {
    const { BunSocket } = await import('../lib/runtime/bun.ts');
    const { bunNamespace } = await import('../lib/runtime/bun/namespace.ts');
    // Its open handler wraps the native socket (see BunSocket.handlers).
    const native = await bunNamespace().connect({ hostname: host, port, allowHalfOpen: true, socket: BunSocket.handlers });
    return native.data as InstanceType<typeof BunSocket>;
  }
  const { NodeSocket } = await import('../lib/runtime/node.ts');
  const { connect } = await import('node:net');
  const socket = new NodeSocket(connect({ host, port }));
  await socket.opened;
  return socket;
}
