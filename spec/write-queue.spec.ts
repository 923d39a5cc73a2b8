import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WriteQueue } from '../lib/_write-queue.ts';

const queue = suite('WriteQueue');

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);

function drain(q: WriteQueue): string[] {
  const chunks: string[] = [];
  for (let chunk = q.shift(); chunk !== null; chunk = q.shift()) chunks.push(text(chunk));
  return chunks;
}

queue('keeps copies: a buffer changed after push() does not change what is queued', () => {
  const q = new WriteQueue();
  const small = bytes('abc');
  const large = new Uint8Array(20_000).fill(65);
  q.push(small);
  q.push(large);
  small.fill(0);
  large.fill(0);
  const [first, second] = drain(q);
  assert.is(first, 'abc');
  assert.is(second, 'A'.repeat(20_000));
});

queue('gathers the small writes queued together into one chunk; a large one is a chunk of its own', () => {
  const q = new WriteQueue();
  for (const part of ['*1\r\n', '$4\r\n', 'PING\r\n']) q.push(bytes(part));
  q.push(new Uint8Array(16_384).fill(66));
  q.push(bytes('tail'));
  assert.is(q.length, 14 + 16_384 + 4);
  assert.equal(drain(q), ['*1\r\n$4\r\nPING\r\n', 'B'.repeat(16_384), 'tail']);
  assert.is(q.length, 0);
  assert.is(q.shift(), null);
});

queue('never writes over a chunk it handed out, though the next writes share its pool', () => {
  const q = new WriteQueue();
  const other = new WriteQueue();
  q.push(bytes('first'));
  const first = q.shift()!;
  q.push(bytes('second'));
  other.push(bytes('another queue'));
  q.push(bytes('third'));
  const rest = drain(q);
  assert.is(text(first), 'first');
  assert.equal(rest, ['second', 'third'], 'another queue wrote in between: the open chunk closed');
  assert.equal(drain(other), ['another queue']);
  // Pools are shared and used front to back: a later chunk of the same pool comes after.
  const next = (q.push(bytes('next')), q.shift()!);
  if (next.buffer === first.buffer) assert.ok(next.byteOffset >= first.byteOffset + first.byteLength);
  assert.is(text(first), 'first');
});

queue('a burst larger than the pool leaves as several chunks of at most 64 KiB, in order', () => {
  const q = new WriteQueue();
  let expected = '';
  for (let i = 0; i < 20_000; i += 1) {
    const part = `${i},`;
    q.push(bytes(part));
    expected += part;
  }
  const chunks = drain(q);
  assert.is(chunks.join(''), expected);
  assert.ok(chunks.length >= 2 && chunks.every((chunk) => chunk.length <= 65536), `${chunks.length} chunks`);
});

queue('clear() drops what is queued; later writes queue as before', () => {
  const q = new WriteQueue();
  q.push(bytes('dropped'));
  q.push(new Uint8Array(20_000));
  q.clear();
  assert.is(q.length, 0);
  assert.is(q.shift(), null);
  q.push(bytes('kept'));
  assert.equal(drain(q), ['kept']);
});

queue.run();
