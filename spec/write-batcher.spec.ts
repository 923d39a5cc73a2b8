import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Writable } from 'node:stream';
import { WriteBatcher } from '../lib/runtime/node/write-batcher.ts';

const batcher = suite('WriteBatcher');

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);
const nextTick = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));

/** A `Writable` that records each system call it would make: `write` of one chunk, `writev` of several. */
function recordingSocket(highWaterMark = 16_384): { socket: Writable; calls: string[][] } {
  const calls: string[][] = [];
  const socket = new Writable({
    highWaterMark,
    write(chunk: Uint8Array, _encoding, callback) {
      calls.push([text(chunk)]);
      callback();
    },
    writev(chunks, callback) {
      calls.push(chunks.map(({ chunk }) => text(chunk as Uint8Array)));
      callback();
    },
  });
  return { socket, calls };
}

batcher('sends nothing before the end of the tick, then the writes of the tick in one writev', async () => {
  const { socket, calls } = recordingSocket();
  const batch = new WriteBatcher(socket, () => {});
  batch.push(bytes('*1\r\n'));
  await Promise.resolve(); // a sink's writes come one microtask apart: still the same tick
  batch.push(bytes('$4\r\n'));
  batch.push(bytes('PING\r\n'));
  assert.equal(calls, []);
  await nextTick();
  assert.equal(calls, [['*1\r\n', '$4\r\n', 'PING\r\n']]);
  socket.destroy();
});

batcher('a lone write goes out as one write, without cork()', async () => {
  const { socket, calls } = recordingSocket();
  let corked = 0;
  const cork = socket.cork.bind(socket);
  socket.cork = () => {
    corked++;
    cork();
  };
  const batch = new WriteBatcher(socket, () => {});
  batch.push(bytes('alone'));
  await nextTick();
  assert.equal(calls, [['alone']]);
  assert.is(corked, 0);
  batch.push(bytes('a'));
  batch.push(bytes('b'));
  await nextTick();
  assert.equal(calls, [['alone'], ['a', 'b']]);
  assert.is(corked, 1);
  socket.destroy();
});

batcher('byteLength counts the bytes waiting, and is 0 once they are sent', async () => {
  const { socket } = recordingSocket();
  const batch = new WriteBatcher(socket, () => {});
  assert.is(batch.byteLength, 0);
  batch.push(bytes('abc'));
  batch.push(new Uint8Array(1000));
  assert.is(batch.byteLength, 1003);
  assert.is(socket.writableLength, 0, 'the socket does not count them yet');
  await nextTick();
  assert.is(batch.byteLength, 0);
  socket.destroy();
});

batcher('flush() sends at once; the flush scheduled for the tick then sends nothing more', async () => {
  const { socket, calls } = recordingSocket();
  const batch = new WriteBatcher(socket, () => {});
  batch.push(bytes('x'));
  batch.push(bytes('y'));
  batch.flush();
  assert.equal(calls, [['x', 'y']]);
  assert.is(batch.byteLength, 0);
  await nextTick();
  assert.equal(calls, [['x', 'y']]);
  batch.flush();
  assert.equal(calls, [['x', 'y']], 'an empty batch is no write');
  socket.destroy();
});

batcher('calls onTaken after a batch the socket took whole, not after one it must drain first', async () => {
  const { socket } = recordingSocket(8);
  let taken = 0;
  const batch = new WriteBatcher(socket, () => taken++);
  batch.push(bytes('1234'));
  await nextTick();
  assert.is(taken, 1, 'under the mark: no drain will come');
  // A Writable whose sink is slow keeps what it was given: past its mark it needs a drain.
  const slow = new Writable({ highWaterMark: 8, write: (_chunk, _encoding, callback) => setTimeout(callback, 10) });
  let slowTaken = 0;
  const slowBatch = new WriteBatcher(slow, () => slowTaken++);
  slowBatch.push(new Uint8Array(4));
  slowBatch.push(new Uint8Array(20));
  await nextTick();
  assert.ok(slow.writableNeedDrain);
  assert.is(slowTaken, 0, 'the drain event says when it is taken');
  await new Promise((resolve) => slow.once('drain', resolve));
  slow.destroy();
  socket.destroy();
});

batcher('a destroyed socket gets nothing, and the batch is dropped', async () => {
  const { socket, calls } = recordingSocket();
  let taken = 0;
  const batch = new WriteBatcher(socket, () => taken++);
  batch.push(bytes('lost'));
  socket.destroy();
  await nextTick();
  assert.equal(calls, []);
  assert.is(batch.byteLength, 0);
  assert.is(taken, 0);
});

batcher.run();
