/**
 * Bytes made in another realm (a `node:vm` context here, an iframe in a browser) are
 * `Uint8Array`s all the same, which `instanceof` alone refuses: the writer, the reader's
 * `feedData()`, separators, `readinto()` views and the chunks of a default stream take them.
 */
import { runInNewContext } from 'node:vm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { StreamReader, StreamWriter } from '../lib/index.ts';
import { text, tick, within } from './_loopback.ts';

/** A `Uint8Array` of another realm holding `value`'s UTF-8 bytes. */
function foreign(value: string): Uint8Array {
  const bytes = runInNewContext('(codes) => new Uint8Array(codes)')([...new TextEncoder().encode(value)]) as Uint8Array;
  assert.not.ok(bytes instanceof Uint8Array, 'made in another realm');
  return bytes;
}

const realm = suite('Uint8Arrays of another realm');

realm('write() and writelines() take them, and the bytes arrive', async () => {
  const chunks: string[] = [];
  const writer = StreamWriter.from(new WritableStream<Uint8Array>({ write: (chunk) => void chunks.push(text(chunk)) }));
  writer.write(foreign('one '));
  writer.writelines([foreign('two '), 'three']);
  await writer.drain();
  await tick();
  assert.is(chunks.join(''), 'one two three');
});

realm('feedData(), a separator and a readinto() view of another realm work as their own', async () => {
  const reader = new StreamReader();
  reader.feedData(foreign('head|rest'));
  assert.is(text(await within(reader.readuntil(foreign('|')))), 'head|');
  const view = runInNewContext('new Uint8Array(8)') as Uint8Array;
  assert.is(await within(reader.readinto(view)), 4);
  assert.is(text(view.subarray(0, 4)), 'rest');
});

realm('a default stream whose chunks come from another realm is read', async () => {
  const reader = StreamReader.from(new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(foreign('line\n'));
      controller.close();
    },
  }));
  assert.is(text(await within(reader.readline())), 'line\n');
});

realm.run();
