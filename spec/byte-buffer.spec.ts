import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ByteBuffer } from '../lib/_byte-buffer.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

/** Counts the bytes that `set` and `copyWithin` move while `action` runs. */
function bytesMoved(action: () => void): number {
  const { set, copyWithin } = Uint8Array.prototype;
  let moved = 0;
  Uint8Array.prototype.set = function (this: Uint8Array, source: ArrayLike<number>, offset?: number) {
    moved += source.length;
    return set.call(this, source, offset);
  } as typeof set;
  Uint8Array.prototype.copyWithin = function (this: Uint8Array, target: number, start: number, end?: number) {
    moved += (end ?? this.length) - start;
    return copyWithin.call(this, target, start, end);
  } as typeof copyWithin;
  try {
    action();
  } finally {
    Uint8Array.prototype.set = set;
    Uint8Array.prototype.copyWithin = copyWithin;
  }
  return moved;
}

const ring = suite('ByteBuffer');

ring('keeps appended bytes in order and consumes from the front', () => {
  const buffer = new ByteBuffer(8);
  buffer.append(bytes('hello '));
  buffer.append(bytes('world'));
  assert.is(buffer.length, 11);
  assert.is(text(buffer.copy(5)), 'hello');
  buffer.consume(6);
  assert.is(text(buffer.copy()), 'world');
  assert.is(buffer.position, 6);
  assert.is(text(buffer.filled.subarray(buffer.start)), 'world');
});

ring('allocates nothing until the first append', () => {
  const buffer = new ByteBuffer(1024);
  assert.is(buffer.bytes.length, 0);
  buffer.append(bytes('x'));
  assert.is(buffer.bytes.length, 1024);
});

ring('moves each byte a bounded number of times however small the reads', () => {
  const buffer = new ByteBuffer(64);
  const chunk = bytes('0123456789abcdef0123456789abcdef0123456789'); // 42 bytes, not a divisor of 64
  let appended = 0;
  const moved = bytesMoved(() => {
    for (let round = 0; round < 20_000; round++) {
      buffer.append(chunk);
      appended += chunk.length;
      while (buffer.length > 20) buffer.consume(3);
    }
  });
  // Appending copies each byte once; sliding may move it once more. A buffer that re-copied
  // its contents on every read would move far more.
  assert.ok(moved <= 2 * appended, `moved ${moved} bytes for ${appended} appended`);
  assert.is(buffer.bytes.length, 64, 'a bounded backlog keeps the resting capacity');
});

ring('grows to fit a burst and gives the memory back once it is read', () => {
  const buffer = new ByteBuffer(64);
  buffer.append(new Uint8Array(10_000).fill(7));
  assert.ok(buffer.bytes.length >= 10_000);
  buffer.consume(9_990);
  assert.is(buffer.bytes.length, 64);
  assert.equal([...buffer.copy()], new Array(10).fill(7));
});

ring('unshift puts consumed bytes back in front, in room that was consumed', () => {
  const buffer = new ByteBuffer(64);
  buffer.append(bytes('abcdef'));
  buffer.consume(3);
  const storage = buffer.bytes;
  buffer.unshift(bytes('abc'));
  assert.is(buffer.bytes, storage);
  assert.is(text(buffer.copy()), 'abcdef');
  assert.is(buffer.position, 0);
});

ring('unshift makes room when the front is too small', () => {
  const buffer = new ByteBuffer(8);
  buffer.append(bytes('tail'));
  buffer.unshift(bytes('a long head, '));
  assert.is(text(buffer.copy()), 'a long head, tail');
});

ring('swap takes a filled storage and returns the old one', () => {
  const buffer = new ByteBuffer(8);
  buffer.append(bytes('ab'));
  buffer.consume(2);
  const old = buffer.bytes;
  const filled = new Uint8Array(16);
  filled.set(bytes('xyz'));
  assert.is(buffer.swap(filled, 3), old);
  assert.is(text(buffer.copy()), 'xyz');
  assert.is(buffer.position, 2);
});

ring('takeFront hands over a storage it mostly fills, and keeps the rest', () => {
  const buffer = new ByteBuffer(8);
  buffer.append(bytes('0123456789ab'));
  const storage = buffer.bytes;
  const taken = buffer.takeFront(10);
  assert.is(taken.buffer, storage.buffer);
  assert.is(text(taken), '0123456789');
  assert.is.not(buffer.bytes, storage);
  assert.is(text(buffer.copy()), 'ab');
  assert.is(buffer.position, 10);
  buffer.append(bytes('cd'));
  assert.is(text(taken), '0123456789', 'later appends do not touch what was handed over');
});

ring('takeFront copies a small part of a large storage', () => {
  const buffer = new ByteBuffer(64);
  buffer.append(bytes('abcdef'));
  const taken = buffer.takeFront(3);
  assert.is.not(taken.buffer, buffer.bytes.buffer);
  assert.is(text(taken), 'abc');
  assert.is(text(buffer.copy()), 'def');
});

ring('clear drops everything and counts it as passed', () => {
  const buffer = new ByteBuffer(8);
  buffer.append(bytes('abc'));
  buffer.clear();
  assert.is(buffer.length, 0);
  assert.is(buffer.position, 3);
});

ring('an adopted chunk is the storage, handed over whole, and the storage put aside comes back', () => {
  const buffer = new ByteBuffer(64);
  buffer.append(bytes('ab'));
  buffer.consume(2);
  const own = buffer.bytes;
  const chunk = bytes('chunk');
  buffer.adopt(chunk);
  assert.is(buffer.bytes, chunk, 'no copy');
  assert.ok(buffer.holdsWholeChunk);
  assert.is(buffer.position, 2);
  const taken = buffer.takeAdopted();
  assert.is(taken, chunk);
  assert.is(buffer.length, 0);
  assert.is(buffer.position, 7);
  assert.is(buffer.bytes, own, 'back to its own storage');
  buffer.append(bytes('next'));
  assert.is(text(buffer.copy()), 'next');
  assert.is(buffer.bytes, own);
});

ring('appending to an adopted chunk moves what is left of it into the storage put aside, never into the chunk', () => {
  const buffer = new ByteBuffer(64);
  buffer.append(bytes('x'));
  buffer.consume(1);
  const own = buffer.bytes;
  const chunk = bytes('abcdef');
  buffer.adopt(chunk);
  buffer.consume(2);
  assert.not.ok(buffer.holdsWholeChunk, 'part of it was read');
  buffer.append(bytes('gh'));
  assert.is(buffer.bytes, own);
  assert.is(text(buffer.copy()), 'cdefgh');
  assert.is(text(chunk), 'abcdef', 'the chunk itself is untouched');
  assert.not.ok(buffer.holdsWholeChunk);
  // More than the storage put aside holds: it grows as usual.
  const big = new ByteBuffer(4);
  big.adopt(bytes('ab'));
  big.append(bytes('0123456789'));
  assert.is(text(big.copy()), 'ab0123456789');
});

ring('an adopted chunk read down to its last eighth goes back to the storage put aside, with no allocation', () => {
  const buffer = new ByteBuffer(8);
  buffer.append(bytes('ab'));
  buffer.consume(2);
  const own = buffer.bytes;
  // Larger than four times the resting capacity: a storage of our own that size would be shrunk.
  const chunk = bytes('0123456789'.repeat(6) + 'wxyz');
  buffer.adopt(chunk);
  buffer.consume(58);
  assert.is(buffer.bytes, own, 'the rest moved into the storage put aside, no new storage');
  assert.is(text(buffer.copy()), '89wxyz');
  assert.is(buffer.position, 60);
  assert.not.ok(buffer.holdsWholeChunk);
  buffer.append(bytes('!'));
  assert.is(text(buffer.copy()), '89wxyz!');
  assert.is(text(chunk.subarray(58)), '89wxyz', 'the chunk itself is untouched');
});

ring('storage made by shrinking an adopted chunk is put aside for the next one', () => {
  // Never appended to: nothing to put aside for the first chunk, so its rest gets new storage.
  const buffer = new ByteBuffer(8);
  const chunk = (): Uint8Array<ArrayBuffer> => bytes('0123456789'.repeat(6) + 'wxyz');
  buffer.adopt(chunk());
  buffer.consume(58);
  const made = buffer.bytes;
  assert.is(text(buffer.copy()), '89wxyz');
  buffer.consume(6);
  buffer.adopt(chunk());
  buffer.consume(58);
  assert.is(buffer.bytes, made, 'back to the storage the first shrink made');
  assert.is(text(buffer.copy()), '89wxyz');
});

ring.run();
