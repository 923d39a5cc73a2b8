/**
 * Byte streams where the platform has none. A byte source (`type: 'bytes'`: `byobRequest`,
 * `autoAllocateChunkSize`, ...) runs on the native `ReadableStream` when it supports byte
 * streams and BYOB readers; elsewhere it runs on web-streams-polyfill's `ReadableStream`, used
 * as a ponyfill (the globals are never touched) and loaded only then, and the stream handed
 * out is still a native one that reads from it. Users always get the runtime's own class, so
 * native `pipeTo`, `pipeThrough`, `Response` and `fetch` accept it (a polyfill stream fails
 * their brand checks); only BYOB reading of it is lost on such a platform.
 */
import type { UnderlyingByteSource as PonyfillByteSource } from 'web-streams-polyfill';

/** The source of a byte stream, as `new ReadableStream({ type: 'bytes', ... })` takes it. */
export type ByteSource = Omit<UnderlyingByteSource, 'type'>;

let nativeByteStreams: boolean | undefined;

/** Whether the global `ReadableStream` makes byte streams that a BYOB reader can read. */
export function hasNativeByteStreams(): boolean {
  if (nativeByteStreams === undefined) {
    try {
      new ReadableStream({ type: 'bytes' }).getReader({ mode: 'byob' }).releaseLock();
      nativeByteStreams = true;
    } catch {
      nativeByteStreams = false;
    }
  }
  return nativeByteStreams;
}

/**
 * Overrides the capability check (`undefined` checks again): specs force the ponyfill path.
 * @internal
 */
export function _setNativeByteStreams(value: boolean | undefined): void {
  nativeByteStreams = value;
}

/**
 * A `ReadableStream` of the runtime's own class over a byte source: a native byte stream
 * where the platform has them, else a native stream reading a ponyfill byte stream.
 *
 * @param source the byte source (`type` is implied)
 * @param highWaterMark bytes to read ahead (default 0)
 * @returns the stream
 * @example
 * ```ts
 * const stream = byteStream({
 *   autoAllocateChunkSize: 65536,
 *   async pull(controller) {
 *     const view = controller.byobRequest!.view!;
 *     controller.byobRequest!.respond(await fill(view));
 *   },
 * });
 * ```
 */
export function byteStream(source: ByteSource, highWaterMark = 0): ReadableStream<Uint8Array<ArrayBuffer>> {
  if (hasNativeByteStreams()) return new ReadableStream({ ...source, type: 'bytes' }, { highWaterMark });
  let reader: ReadableStreamDefaultReader<Uint8Array<ArrayBuffer>> | undefined;
  return new ReadableStream<Uint8Array<ArrayBuffer>>(
    {
      async start() {
        const { ReadableStream: PonyfillReadableStream } = await import('web-streams-polyfill');
        // The source was written against the DOM's controller types; the ponyfill's are the same shape.
        const ponyfill = new PonyfillReadableStream({ ...source, type: 'bytes' } as unknown as PonyfillByteSource, { highWaterMark });
        reader = ponyfill.getReader() as unknown as ReadableStreamDefaultReader<Uint8Array<ArrayBuffer>>;
      },
      async pull(controller) {
        const result = await reader!.read();
        if (result.done) controller.close();
        else controller.enqueue(result.value);
      },
      cancel: (reason) => reader?.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}
