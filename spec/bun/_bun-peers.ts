/** What the Bun-only specs share: a peer on Bun's own sockets, and checkable bytes. */
import { bunNamespace, type BunNativeSocket } from '../../lib/runtime/bun/namespace.ts';

/** A `Bun.listen` server whose sockets go to `open`; `stop()` closes it and them. */
export function rawBunServer(open: (socket: BunNativeSocket) => void): { port: number; stop(): void } {
  const listener = bunNamespace().listen({ hostname: '127.0.0.1', port: 0, allowHalfOpen: true, socket: { open, data() {} } });
  return { port: listener.port, stop: () => listener.stop(true) };
}

/** Bytes whose every position is checkable: byte i is (i * 7) mod 256. */
export function pattern(size: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 7) & 255;
  return data;
}
