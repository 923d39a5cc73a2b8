/**
 * What the result types promise (`Bytes`: `Uint8Array<ArrayBuffer>`): every read hands out a
 * plain `Uint8Array` (not a `Buffer` or another subclass) over an `ArrayBuffer` (never a
 * `SharedArrayBuffer`), whatever it was fed: pooled small results, large results that take the
 * buffer's storage, a transport's chunk taken whole, pull-mode reads of byte and default
 * streams. So `new Blob([line])`, `new Response(line)` and `crypto.subtle.digest()` take them.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { StreamReader, StreamReaderProtocol } from '../lib/index.ts';

const encoder = new TextEncoder();

/** Asserts `result` is a plain ArrayBuffer-backed Uint8Array holding `expected`, and that web APIs take it. */
async function assertPlainBytes(result: Uint8Array, expected: string, what: string): Promise<void> {
  assert.is(Object.getPrototypeOf(result), Uint8Array.prototype, `${what}: a plain Uint8Array`);
  assert.is(Object.prototype.toString.call(result.buffer), '[object ArrayBuffer]', `${what}: over an ArrayBuffer`);
  assert.is(await new Response(result as Uint8Array<ArrayBuffer>).text(), expected, `${what}: as a Response body`);
  assert.is(new Blob([result as Uint8Array<ArrayBuffer>]).size, result.byteLength, `${what}: as a Blob part`);
  const digest = await crypto.subtle.digest('SHA-256', result as Uint8Array<ArrayBuffer>);
  assert.is(digest.byteLength, 32, `${what}: as a digest input`);
}

/** Every read kind on a reader fed `line\n` + 10 000 × 'x' + `\nend`, through `feed`. */
async function everyReadKind(reader: StreamReader, what: string): Promise<void> {
  const large = 'x'.repeat(10_000);
  await assertPlainBytes(await reader.readline(), 'line\n', `${what} readline (pooled)`);
  await assertPlainBytes(await reader.readexactly(2), 'xx', `${what} readexactly (pooled)`);
  await assertPlainBytes(await reader.readexactly(9_000), large.slice(0, 9_000), `${what} readexactly (large)`);
  await assertPlainBytes(await reader.readuntil('\n'), `${large.slice(9_002)}\n`, `${what} readuntil`);
  await assertPlainBytes(await reader.read(1), 'e', `${what} read(n)`);
  await assertPlainBytes(await reader.read(), 'nd', `${what} read()`);
  await assertPlainBytes(await reader.read(), '', `${what} read() at EOF`);
}

const chunks = (): Uint8Array<ArrayBuffer>[] => [encoder.encode('line\n'), encoder.encode(`${'x'.repeat(10_000)}\nend`)];

/** A subclass of Uint8Array, as Node's `Buffer` is. */
class PoolView extends Uint8Array {}

const results = suite('read results are plain ArrayBuffer-backed Uint8Arrays');

results('push mode, fed plain chunks', async () => {
  const reader = new StreamReader();
  for (const chunk of chunks()) reader.feedData(chunk);
  reader.feedEof();
  await everyReadKind(reader, 'push');
});

results('push mode, fed subclass views over a shared pool (as Node Buffers are)', async () => {
  const pool = new ArrayBuffer(32 * 1024);
  const reader = new StreamReader();
  let offset = 8;
  for (const chunk of chunks()) {
    const view = new PoolView(pool, offset, chunk.length);
    view.set(chunk);
    offset += chunk.length + 8;
    reader.feedData(view);
  }
  reader.feedEof();
  await everyReadKind(reader, 'pool views');
});

results('push mode, fed views of shared memory, where the platform has it', async () => {
  // Browsers give SharedArrayBuffer only to cross-origin isolated pages: fall back to an ArrayBuffer there.
  const Shared: new (size: number) => ArrayBufferLike = typeof SharedArrayBuffer === 'function' ? SharedArrayBuffer : ArrayBuffer;
  const reader = new StreamReader();
  for (const chunk of chunks()) {
    const view = new Uint8Array(new Shared(chunk.length));
    view.set(chunk);
    reader.feedData(view);
  }
  reader.feedEof();
  await everyReadKind(reader, 'shared');
});

results("a transport's chunks handed over whole, taken whole by a waiting read", async () => {
  const reader = new StreamReader();
  const protocol = new StreamReaderProtocol(reader);
  const waiting = reader.readexactly(6000);
  // A subclass view spanning its own buffer: the reader keeps its memory, as a plain Uint8Array.
  protocol.dataReceived(new PoolView(encoder.encode('y'.repeat(6000)).buffer));
  await assertPlainBytes(await waiting, 'y'.repeat(6000), 'adopted chunk');
  const line = reader.readline();
  protocol.dataReceived(encoder.encode('short\n'));
  await assertPlainBytes(await line, 'short\n', 'adopted short chunk');
  for (const chunk of chunks()) protocol.dataReceived(chunk);
  protocol.eofReceived();
  await everyReadKind(reader, 'protocol');
});

results('pull mode over a byte stream (BYOB reads) and over a default stream', async () => {
  const byteSource = (): ReadableStream<Uint8Array> => {
    const pending = chunks();
    return new ReadableStream({
      type: 'bytes',
      pull(controller) {
        const next = pending.shift();
        if (next !== undefined) return controller.enqueue(next);
        controller.close();
        // A BYOB read waiting when the stream closes settles (done) only once its request is answered.
        controller.byobRequest?.respond(0);
      },
    });
  };
  await everyReadKind(StreamReader.from(byteSource()), 'byte stream');
  const pending = chunks();
  const defaultStream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = pending.shift();
      if (next === undefined) controller.close();
      else controller.enqueue(next);
    },
  });
  await everyReadKind(StreamReader.from(defaultStream), 'default stream');
});

results('lines of a for await loop, and the rest as reader.readable', async () => {
  const reader = StreamReader.from(new Response('one\ntwo\nthree').body!);
  const lines: string[] = [];
  for await (const line of reader) {
    await assertPlainBytes(line, new TextDecoder().decode(line), 'iterated line');
    lines.push(new TextDecoder().decode(line));
    if (lines.length === 2) break;
  }
  assert.equal(lines, ['one\n', 'two\n']);
});

results("a caller who transfers a small result's buffer away leaves later reads whole", async () => {
  // Small results share a pool: transferring one's buffer (postMessage, structuredClone)
  // detaches its neighbours, as it would a pooled Buffer's, but the reader must go on.
  const reader = new StreamReader();
  reader.feedData(encoder.encode('one\ntwo\nthree\nfour\n'));
  reader.feedEof();
  const first = await reader.readline();
  structuredClone(first.buffer, { transfer: [first.buffer] });
  assert.is(first.byteLength, 0, 'the transferred result is detached');
  assert.is(new TextDecoder().decode(await reader.readline()), 'two\n');
  const third = reader.readlineNowait()!;
  structuredClone(third.buffer, { transfer: [third.buffer] });
  assert.is(new TextDecoder().decode(await reader.readexactly(2)), 'fo');
  assert.is(new TextDecoder().decode(await reader.read()), 'ur\n');
});

results.run();
