/**
 * The reader on its own: lines, length-prefixed frames and the errors CPython raises, from
 * in-memory streams. Run with `npx tsx examples/reader-demo.ts`.
 */
import { IncompleteReadError, LimitOverrunError, StreamReader } from 'asyncio-streams';

const text = new TextDecoder();
const show = (bytes: Uint8Array) => JSON.stringify(text.decode(bytes));

// Lines from a byte stream (here a fetch-style body), read with a BYOB reader.
const mail = StreamReader.from(new Response('HELO client\r\nMAIL FROM:<a@example>\r\nQUIT\r\n').body!);
for await (const line of mail) console.log('line  ', show(line));

// Frames: a 4-byte big-endian length, then the payload.
const framed = new Uint8Array([0, 0, 0, 5, ...new TextEncoder().encode('hello'), 0, 0, 0, 9, 1, 2]);
const frames = StreamReader.from(new Blob([framed]).stream());
for (;;) {
  try {
    const header = await frames.readexactly(4);
    const size = new DataView(header.buffer, header.byteOffset, 4).getUint32(0);
    console.log('frame ', show(await frames.readexactly(size)));
  } catch (error) {
    if (!(error instanceof IncompleteReadError)) throw error;
    const { partial, expected } = error;
    console.log('end   ', `IncompleteReadError: ${error.message} (partial ${partial.length}, expected ${expected})`);
    break;
  }
}

// A line longer than the limit: readuntil leaves the buffer alone, readline discards the line.
const chatty = new StreamReader({ limit: 8 });
chatty.feedData(new TextEncoder().encode('far too long a line\nok\n'));
chatty.feedEof();
try {
  await chatty.readuntil('\n');
} catch (error) {
  if (!(error instanceof LimitOverrunError)) throw error;
  console.log('limit ', `LimitOverrunError: ${error.message} (consumed ${error.consumed})`);
}
await chatty.readline().catch((error: RangeError) => console.log('limit ', `RangeError: ${error.message}`));
console.log('line  ', show(await chatty.readline()));
