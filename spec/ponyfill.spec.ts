/**
 * The ponyfill path of `byteStream()`: where the global `ReadableStream` has no byte streams
 * (forced here through the capability check, or a global that refuses `type: 'bytes'`), a
 * byte source runs on web-streams-polyfill and the stream handed out is still the runtime's
 * own class, which native consumers accept.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ReadableStream as PolyfillReadableStream } from 'web-streams-polyfill';
import {
  _setNativeByteStreams,
  _usePonyfill,
  byteStream,
  hasNativeByteStreams,
  type ByteSource,
  type PonyfillReadableStream,
} from '../lib/_byte-stream.ts';
// What an application on a platform without byte streams imports once.
import '../lib/polyfill.ts';
import { StreamReader } from '../lib/index.ts';
import { rejection, text, thrown } from './_loopback.ts';

const encoder = new TextEncoder();

/** A byte source that fills the views it is given (so it needs a byte controller), then ends. */
function lines(count: number, log: string[] = []): ByteSource {
  let sent = 0;
  return {
    autoAllocateChunkSize: 64,
    pull(controller) {
      const request = controller.byobRequest!;
      if (sent === count) {
        controller.close();
        request.respond(0);
        return;
      }
      const line = encoder.encode(`line ${sent}\n`);
      const view = request.view!;
      new Uint8Array(view.buffer, view.byteOffset, view.byteLength).set(line);
      sent += 1;
      request.respond(line.byteLength);
    },
    cancel(reason) {
      log.push(`cancel ${String(reason)}`);
    },
  };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  let all = '';
  for await (const chunk of stream) all += text(chunk);
  return all;
}

const ponyfill = suite('byteStream where the platform lacks byte streams');

ponyfill.after.each(() => _setNativeByteStreams(undefined));

ponyfill('this runtime has native byte streams, and byteStream makes one (BYOB works)', async () => {
  assert.ok(hasNativeByteStreams());
  const reader = byteStream(lines(1)).getReader({ mode: 'byob' });
  const { value } = await reader.read(new Uint8Array(16));
  assert.is(text(value!), 'line 0\n');
  reader.releaseLock();
});

ponyfill('forced: the source runs on the ponyfill and the stream is still a native one', async () => {
  const NativeReadableStream = globalThis.ReadableStream;
  _setNativeByteStreams(false);
  const stream = byteStream(lines(3));
  assert.ok(stream instanceof NativeReadableStream, 'the runtime class');
  assert.is(globalThis.ReadableStream, NativeReadableStream, 'no global was patched');
  assert.instance(thrown(() => stream.getReader({ mode: 'byob' })), TypeError);
  assert.is(await readAll(stream), 'line 0\nline 1\nline 2\n');
});

ponyfill('forced: native Response, pipeTo and pipeThrough accept the stream', async () => {
  _setNativeByteStreams(false);
  assert.is(await new Response(byteStream(lines(2))).text(), 'line 0\nline 1\n');
  const chunks: string[] = [];
  await byteStream(lines(2)).pipeTo(new WritableStream({ write: (chunk) => void chunks.push(text(chunk)) }));
  assert.is(chunks.join(''), 'line 0\nline 1\n');
  const upper = byteStream(lines(1))
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new TransformStream<string, string>({ transform: (chunk, controller) => controller.enqueue(chunk.toUpperCase()) }));
  let all = '';
  for await (const chunk of upper) all += chunk;
  assert.is(all, 'LINE 0\n');
});

ponyfill('forced: a StreamReader reads it, and cancelling reaches the source', async () => {
  _setNativeByteStreams(false);
  const reader = StreamReader.from(byteStream(lines(3)));
  assert.is(text(await reader.readline()), 'line 0\n');
  assert.is(text(await reader.readexactly(7)), 'line 1\n');
  assert.is(text(await reader.read()), 'line 2\n');
  const log: string[] = [];
  const stream = byteStream(lines(10, log));
  const streamReader = stream.getReader();
  await streamReader.read();
  await streamReader.cancel('enough');
  assert.equal(log, ['cancel enough']);
});

ponyfill('the capability check sees a global ReadableStream that refuses byte streams', async () => {
  const NativeReadableStream = globalThis.ReadableStream;
  class NoByteStreams<R> extends NativeReadableStream<R> {
    constructor(source?: UnderlyingSource<R> | UnderlyingByteSource, strategy?: QueuingStrategy<R>) {
      if ((source as { type?: unknown } | undefined)?.type === 'bytes') throw new RangeError('bytes is not supported');
      super(source as UnderlyingSource<R>, strategy);
    }
  }
  globalThis.ReadableStream = NoByteStreams as typeof ReadableStream;
  try {
    _setNativeByteStreams(undefined);
    assert.not.ok(hasNativeByteStreams());
    const stream = byteStream(lines(2));
    assert.ok(stream instanceof NoByteStreams);
    assert.is(await readAll(stream), 'line 0\nline 1\n');
  } finally {
    globalThis.ReadableStream = NativeReadableStream;
  }
});

ponyfill('an error of the source errors the native stream', async () => {
  _setNativeByteStreams(false);
  const failure = new Error('source failed');
  const stream = byteStream({
    pull() {
      throw failure;
    },
  });
  assert.is(await rejection(stream.getReader().read()), failure);
});

ponyfill('without asyncio-streams/polyfill, a platform without byte streams gets a TypeError naming it', async () => {
  _setNativeByteStreams(false);
  _usePonyfill(undefined);
  try {
    const error = thrown(() => byteStream(lines(1)));
    assert.instance(error, TypeError);
    assert.match((error as Error).message, /no byte streams: install web-streams-polyfill and import 'asyncio-streams\/polyfill'/);
    assert.match((thrown(() => new StreamReader().readable) as Error).message, /asyncio-streams\/polyfill/);
  } finally {
    _usePonyfill(PolyfillReadableStream as unknown as PonyfillReadableStream);
  }
});

ponyfill.run();
