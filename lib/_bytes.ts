/**
 * The type of the bytes a read returns: `Uint8Array<ArrayBuffer>` from TypeScript 5.7 on, so a
 * result is a `BlobPart`, a `BodyInit` and a `BufferSource` (`new Blob([line])`,
 * `new Response(line)`, `crypto.subtle.digest('SHA-256', line)`); plain `Uint8Array` before
 * 5.7, whose `Uint8Array` is not generic. Written as what `slice()` returns, which is exactly
 * that on either side of 5.7, so one set of declarations serves TypeScript 5.0 and later.
 * Results really are plain `Uint8Array`s over an `ArrayBuffer` (never a `SharedArrayBuffer`).
 *
 * @example
 * ```ts
 * import { StreamReader, type Bytes } from 'asyncio-streams';
 *
 * const reader = StreamReader.from(new Response('a line\n').body!);
 * const line: Bytes = await reader.readline();
 * const digest = await crypto.subtle.digest('SHA-256', line);
 * ```
 */
export type Bytes = ReturnType<Uint8Array['slice']>;
