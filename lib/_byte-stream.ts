/**
 * Byte streams where the platform has none. A byte source (`type: 'bytes'`: `byobRequest`,
 * `autoAllocateChunkSize`, ...) runs on the native `ReadableStream` when it supports byte
 * streams and BYOB readers; elsewhere it runs on web-streams-polyfill's `ReadableStream`, used
 * as a ponyfill (the globals are never touched), and the stream handed out is still a native
 * one that reads from it. Users always get the runtime's own class, so native `pipeTo`,
 * `pipeThrough`, `Response` and `fetch` accept it (a polyfill stream fails their brand checks);
 * only BYOB reading of it is lost on such a platform.
 *
 * The ponyfill is not imported here: `asyncio-streams/polyfill` hands it over. So a bundle
 * carries its 62 KB only where the application asks for it, and web-streams-polyfill is an
 * optional peer dependency that Node, Deno and Bun never install.
 */

/** The source of a byte stream, as `new ReadableStream({ type: 'bytes', ... })` takes it. */
export type ByteSource = Omit<UnderlyingByteSource, 'type'>;

/** What is used of web-streams-polyfill's `ReadableStream`: a byte stream and its default reader. */
export type PonyfillReadableStream = new (
  source: UnderlyingByteSource,
  strategy: { highWaterMark: number },
) => { getReader(): { read(): Promise<ReadableStreamReadResult<Uint8Array<ArrayBuffer>>>; cancel(reason?: unknown): Promise<void> } };

let nativeByteStreams: boolean | undefined;
let ponyfillReadableStream: PonyfillReadableStream | undefined;

/**
 * Takes the ponyfill's `ReadableStream` (from `asyncio-streams/polyfill`); `undefined` forgets it.
 * @internal
 */
export function _usePonyfill(readableStream: PonyfillReadableStream | undefined): void {
  ponyfillReadableStream = readableStream;
}

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
 * @throws {TypeError} where the platform has no byte streams and `asyncio-streams/polyfill`
 *   was not imported
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
  if (ponyfillReadableStream === undefined) {
    throw new TypeError(
      "This platform's ReadableStream has no byte streams: install web-streams-polyfill and import 'asyncio-streams/polyfill' once",
    );
  }
  const reader = new ponyfillReadableStream({ ...source, type: 'bytes' }, { highWaterMark }).getReader();
  return new ReadableStream<Uint8Array<ArrayBuffer>>(
    {
      async pull(controller) {
        const result = await reader.read();
        if (result.done) controller.close();
        else controller.enqueue(result.value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}
