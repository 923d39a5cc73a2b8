/**
 * The HTTP/1.1 await floor of `http.bench.ts` (`net-await` over `node:net`, `bun-listen-await`
 * over `Bun.listen`): the smallest asyncio-shaped loop, with nothing of a library around it.
 */
import type { AwaitedChunks } from '../_awaited-chunks.ts';
import { parseHead } from './_http-request.ts';

const READY = Promise.resolve();

/**
 * Answers each request head as it is awaited: `head = await heads.next()`, parse, `respond()`,
 * then an `await` of a resolved promise (a drain with room), until EOF or a request that does
 * not keep the connection alive. The caller ends the connection then.
 *
 * @param heads the connection's request heads, one chunk each
 * @param respond writes the response
 */
export async function answerEachHead(heads: AwaitedChunks, respond: () => void): Promise<void> {
  for (let head = await heads.next(); head !== null; head = await heads.next()) {
    const request = parseHead(head);
    respond();
    await READY;
    if (!request.keepAlive) break;
  }
}
