/**
 * Type tests of the portable entry in a project without Node's types (`lib: ES2022, DOM`).
 */
import { openConnection, StreamReader } from 'asyncio-streams/web';
import { expectType, type Equal } from './_equal.js';

export async function webEntry(pair: { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> }): Promise<void> {
  const [reader, writer] = await openConnection(null, null, { sock: pair });
  expectType<Equal<typeof reader, StreamReader>>();
  writer.write(await reader.readline());
}
