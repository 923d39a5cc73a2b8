/**
 * `abortable()`, the one abort-while-connecting rule of every client route (connecting, waiting
 * for `opened`, the TLS handshake): the signal's reason at once, what is under way stopped once,
 * and nothing watched after `pending` settled.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { abortable } from '../lib/_abortable.ts';
import { isPending, rejection, tick, watchUnhandled, within } from './_loopback.ts';

const abort = suite('abortable');

/** A promise and the functions that settle it. */
function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(error: unknown): void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

abort('without a signal it is pending itself', async () => {
  const pending = Promise.resolve('open');
  assert.is(abortable(pending, undefined, () => assert.unreachable('no signal to abort')), pending);
});

abort('settles as pending does while the signal stays quiet, and stops watching it then', async () => {
  const controller = new AbortController();
  const stops: unknown[] = [];
  const opening = deferred<string>();
  const result = abortable(opening.promise, controller.signal, (reason) => void stops.push(reason));
  assert.ok(await isPending(result));
  opening.resolve('open');
  assert.is(await within(result), 'open');
  controller.abort(new Error('too late'));
  assert.equal(stops, [], 'an abort after the end stops nothing');
  const failing = deferred<string>();
  const failed = abortable(failing.promise, new AbortController().signal, () => {});
  failing.reject(new Error('refused'));
  assert.is(((await rejection(failed)) as Error).message, 'refused');
});

abort('an abort rejects with its reason at once and stops what is under way, once; a late result changes nothing', async () => {
  const unhandled = watchUnhandled();
  const controller = new AbortController();
  const stops: unknown[] = [];
  const opening = deferred<string>();
  const result = abortable(opening.promise, controller.signal, (reason) => void stops.push(reason));
  const reason = new Error('gave up');
  controller.abort(reason);
  assert.is(await rejection(result, 100), reason, 'without waiting for pending');
  assert.equal(stops, [reason]);
  opening.resolve('open');
  await tick();
  assert.equal(stops, [reason], 'stopped once');
  const failing = deferred<string>();
  const again = new AbortController();
  const failed = abortable(failing.promise, again.signal, () => {});
  again.abort(reason);
  failing.reject(new Error('closed by the abort'));
  assert.is(await rejection(failed), reason, 'the abort, not what the stop made of pending');
  await unhandled.stop();
});

abort('a signal aborted already rejects before pending is looked at, stops it, and leaves no unhandled rejection', async () => {
  const unhandled = watchUnhandled();
  const reason = new Error('aborted before');
  const stops: unknown[] = [];
  const opening = deferred<string>();
  const result = abortable(opening.promise, AbortSignal.abort(reason), (why) => void stops.push(why));
  assert.equal(stops, [reason], 'stopped synchronously');
  opening.reject(new Error('closed by the stop'));
  assert.is(await rejection(result), reason);
  await unhandled.stop();
});

abort.run();
