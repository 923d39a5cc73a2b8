/**
 * The asyncio echo server's loop, as the `ours` echo servers of every runtime run it: read
 * what is there (up to 64 KiB), write it back, wait for the drain; close at EOF.
 */
import type { StreamReader, StreamWriter } from '../../lib/index.ts';

/** No connection echoes more than this many times (a bound, far above any run). */
export const MAX_ECHOES = 100_000_000;

export async function echoLoop(reader: StreamReader, writer: StreamWriter): Promise<void> {
  for (let i = 0; i < MAX_ECHOES; i++) {
    const data = await reader.read(65536);
    if (data.length === 0) break;
    writer.write(data);
    await writer.drain();
  }
  writer.close();
}
