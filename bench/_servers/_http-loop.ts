/**
 * The `ours` HTTP server's connection handler, as every runtime runs it: `readuntil()` a
 * request's head, parse it (`_http-request.ts`, as the raw servers do), write the fixed
 * response, wait for the drain; close when the client asks to, at EOF, or on a bad request.
 */
import type { StreamReader, StreamWriter } from '../../lib/index.ts';
import { HEAD_END, parseHead, RESPONSE } from './_http-request.ts';

/** No connection answers more than this many requests (a bound, far above any run). */
const MAX_REQUESTS = 100_000_000;

export async function httpLoop(reader: StreamReader, writer: StreamWriter): Promise<void> {
  try {
    for (let i = 0; i < MAX_REQUESTS; i++) {
      const request = parseHead(await reader.readuntil(HEAD_END));
      writer.write(RESPONSE);
      await writer.drain();
      if (!request.keepAlive) break;
    }
  } catch (error) {
    // The client closing between requests is the usual end (IncompleteReadError, nothing read).
    const partial = (error as { partial?: Uint8Array }).partial;
    if ((error as Error).name !== 'IncompleteReadError' || partial?.length !== 0) console.error(`ours: ${String(error)}`);
  }
  writer.close();
}
