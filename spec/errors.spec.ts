import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { IncompleteReadError, LimitOverrunError } from '../lib/index.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

const incomplete = suite('IncompleteReadError');

incomplete('states how many bytes arrived out of how many expected', () => {
  const error = new IncompleteReadError(bytes('abc'), 10);
  assert.is(error.message, '3 bytes read on a total of 10 expected bytes');
  assert.equal(error.partial, bytes('abc'));
  assert.is(error.expected, 10);
  assert.is(error.name, 'IncompleteReadError');
  assert.ok(error instanceof Error);
});

incomplete('says undefined when no size was expected', () => {
  const error = new IncompleteReadError(bytes('some dataAA'), null);
  assert.is(error.message, '11 bytes read on a total of undefined expected bytes');
  assert.is(error.expected, null);
});

incomplete('is recognised when it comes from another copy of the package', () => {
  const foreign = Object.assign(new Error('x'), { [Symbol.for('asyncio-streams.IncompleteReadError')]: true });
  assert.ok(foreign instanceof IncompleteReadError);
  assert.not.ok(new Error('x') instanceof IncompleteReadError);
  assert.not.ok(new LimitOverrunError('m', 1) instanceof IncompleteReadError);
});

incomplete.run();

const overrun = suite('LimitOverrunError');

overrun('keeps the message and the consumed count', () => {
  const error = new LimitOverrunError('message', 10);
  assert.is(error.message, 'message');
  assert.is(error.consumed, 10);
  assert.is(error.name, 'LimitOverrunError');
  assert.is(String(error), 'LimitOverrunError: message');
});

overrun('is recognised when it comes from another copy of the package', () => {
  const foreign = { [Symbol.for('asyncio-streams.LimitOverrunError')]: true };
  assert.ok(foreign instanceof LimitOverrunError);
  assert.not.ok(new IncompleteReadError(new Uint8Array(0), 1) instanceof LimitOverrunError);
});

overrun.run();
