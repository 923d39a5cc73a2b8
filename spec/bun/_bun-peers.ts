/** What the Bun-only specs share: a peer on Bun's own sockets, checkable bytes, an echo and its round trip. */
import * as assert from 'uvu/assert';
import type { StreamReader, StreamWriter } from '../../lib/index.ts';
import { bunNamespace, type BunNativeSocket } from '../../lib/runtime/bun/namespace.ts';
import { text, within } from '../_loopback.ts';

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

/** A client callback that echoes a line and closes, noting each client's transport in `transports`. */
export function echoLine(transports: unknown[]): (reader: StreamReader, writer: StreamWriter) => Promise<void> {
  return async (reader, writer) => {
    transports.push(writer.transport);
    writer.write(await reader.readline());
    writer.close();
  };
}

/** A line sent and echoed, then the writer closed. */
export async function roundTrip(reader: StreamReader, writer: StreamWriter, line: string): Promise<void> {
  writer.write(line);
  assert.is(text(await within(reader.readline())), line);
  writer.close();
  await writer.waitClosed();
}
