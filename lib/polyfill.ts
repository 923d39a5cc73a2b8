/**
 * Turns on byte streams where the platform's `ReadableStream` has none (Safari before 26.4):
 * imported once, it hands web-streams-polyfill's `ReadableStream` to the library, which then
 * runs its byte sources (`reader.readable`) on it, as a ponyfill: no global is touched, and the
 * streams handed out are still the platform's own. Node, Deno, Bun, Chromium and Firefox never
 * need it. It needs the optional peer dependency `web-streams-polyfill` installed.
 *
 * @example
 * ```ts
 * import 'asyncio-streams/polyfill';
 * import { StreamReader } from 'asyncio-streams';
 *
 * const reader = StreamReader.from(new Response('one\ntwo\n').body!);
 * await reader.readline();
 * const rest = await new Response(reader.readable).text(); // 'two\n'
 * ```
 * @module
 */
import { ReadableStream } from 'web-streams-polyfill';
import { _usePonyfill, type PonyfillReadableStream } from './_byte-stream.ts';

// The polyfill's controller types are its own copies of the DOM's, which the byte sources are written against.
_usePonyfill(ReadableStream as unknown as PonyfillReadableStream);
