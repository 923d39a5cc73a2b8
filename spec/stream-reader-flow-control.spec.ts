import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { StreamReader } from '../lib/index.ts';
import { assertBytes, bytes, rejection, tick, track } from './_reader-sources.ts';

const flowControl = suite('StreamReader.setTransport: flow control [push]');

/** A transport that records the calls the reader makes on it. */
function fakeTransport() {
  const calls: string[] = [];
  return {
    calls,
    pauseReading: () => void calls.push('pause'),
    resumeReading: () => void calls.push('resume'),
    toString: () => '<Transport>',
  };
}

flowControl('pauses above 2 * limit and resumes at limit or below (CPython probe, limit 4)', async () => {
  const transport = fakeTransport();
  const reader = new StreamReader({ limit: 4 });
  reader.setTransport(transport);

  reader.feedData(bytes('12345678'));
  assert.equal(transport.calls, [], '8 bytes is not above 8');
  reader.feedData(bytes('9'));
  assert.equal(transport.calls, ['pause']);

  assertBytes(await reader.read(4), '1234');
  assert.equal(transport.calls, ['pause'], '5 bytes left: still paused');
  assertBytes(await reader.read(1), '5');
  assert.equal(transport.calls, ['pause', 'resume'], '4 bytes left');

  reader.feedData(bytes('abcdefgh'));
  assert.equal(transport.calls, ['pause', 'resume', 'pause'], '12 bytes');

  const pending = track(reader.readexactly(20));
  await tick();
  assert.equal(transport.calls, ['pause', 'resume', 'pause', 'resume'], 'a read that must wait resumes');
  reader.feedData(bytes('ABCDEFGH'));
  assertBytes(await pending.value(), '6789abcdefghABCDEFGH');
  assert.equal(transport.calls, ['pause', 'resume', 'pause', 'resume', 'pause', 'resume']);
  assertBytes(reader._peekBuffer(), '');
});

flowControl('readline() dropping an over-long line resumes', async () => {
  const transport = fakeTransport();
  const reader = new StreamReader({ limit: 4 });
  reader.setTransport(transport);
  reader.feedData(bytes('abcdefghi\nxy'));
  assert.equal(transport.calls, ['pause']);
  assert.instance(await rejection(reader.readline()), RangeError);
  assert.equal(transport.calls, ['pause', 'resume']);
  assertBytes(reader._peekBuffer(), 'xy');
});

flowControl('readuntil() resumes only once the buffer is down to the limit', async () => {
  const transport = fakeTransport();
  const reader = new StreamReader({ limit: 4 });
  reader.setTransport(transport);
  reader.feedData(bytes('ab\ncd\nef\ngh\n'));
  assertBytes(await reader.readuntil('\n'), 'ab\n');
  assertBytes(await reader.readuntil('\n'), 'cd\n');
  assert.equal(transport.calls, ['pause'], '6 bytes left');
  assertBytes(await reader.readuntil('\n'), 'ef\n');
  assert.equal(transport.calls, ['pause', 'resume'], '3 bytes left');
  assertBytes(reader._peekBuffer(), 'gh\n');
});

flowControl('a second transport is refused', () => {
  const reader = new StreamReader();
  const transport = fakeTransport();
  assert.is(reader.transport, null);
  reader.setTransport(transport);
  assert.is(reader.transport, transport);
  assert.throws(() => reader.setTransport(fakeTransport()), (error: unknown) => error instanceof Error && error.message === 'Transport already set');
  assert.is(reader.transport, transport);
});

flowControl.run();
