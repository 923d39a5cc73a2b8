/**
 * Out of descriptors, a server pauses instead of spinning: the accept loop the library runs
 * (the core's, which the Deno adapter uses; Node and Bun accept in their own `net.Server`)
 * reports a failed accept once and waits `ACCEPT_RETRY_DELAY_MS` (1 s, as CPython) before it
 * accepts again; an accept whose peer had already gone is passed over at once, unreported.
 * The loop is plain JavaScript, so every runtime runs this spec with a listener
 * whose accept fails.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ACCEPT_RETRY_DELAY_MS, acceptLoop } from '../lib/_accept-loop.ts';
import type { DenoConn } from '../lib/runtime/deno/namespace.ts';
import { sleep, within } from './_loopback.ts';
import { runtime } from './_runtime.ts';

/** An accept that fails as Deno's does out of descriptors: after a turn of the event loop. */
function failingAccept(): Promise<never> {
  const error = Object.assign(new Error('Too many open files (os error 24)'), { code: 'EMFILE' });
  return new Promise((_, reject) => setTimeout(() => reject(error), 0));
}

const pause = suite(`A failing accept pauses the accept loop (${runtime})`);

pause('an accept that keeps failing is reported once per pause, not retried at once', async () => {
  let accepts = 0;
  const reports: string[] = [];
  const closing = new AbortController();
  const loop = acceptLoop(
    { accept: () => { accepts += 1; return failingAccept(); } },
    () => assert.unreachable('nothing is accepted'),
    (error, context) => void reports.push(`${(error as { code?: string }).code}: ${context.message}`),
    closing.signal,
  );
  await sleep(ACCEPT_RETRY_DELAY_MS / 2);
  assert.is(accepts, 1, 'one accept, then the pause');
  assert.equal(reports, ['EMFILE: socket.accept() failed; accepting again in 1 s']);
  await sleep(ACCEPT_RETRY_DELAY_MS);
  assert.is(accepts, 2, 'accepting again after the pause');
  assert.is(reports.length, 2);
  closing.abort();
  await within(loop, 200, 'the loop ending at close, its pause cut short');
});

pause('accepting goes on after the pause once descriptors are free again', async () => {
  let accepts = 0;
  const accepted: unknown[] = [];
  const closing = new AbortController();
  const conn = { close() {} } as unknown as DenoConn;
  const loop = acceptLoop(
    {
      accept: () => {
        accepts += 1;
        if (accepts === 1) return failingAccept();
        if (accepts === 2) return Promise.resolve(conn);
        return new Promise<DenoConn>(() => {});
      },
    },
    (c) => void accepted.push(c),
    () => {},
    closing.signal,
  );
  await within((async () => {
    while (accepted.length === 0) await sleep(20);
  })(), ACCEPT_RETRY_DELAY_MS * 3);
  assert.equal(accepted, [conn]);
  closing.abort();
  void loop;
});

pause('an accept whose peer had gone (ENOTCONN, ECONNABORTED, ECONNRESET) is passed over: no report, no pause', async () => {
  const gone = ['ENOTCONN', 'ECONNABORTED', 'ECONNRESET'].map((code) => Object.assign(new Error(`peer gone: ${code}`), { code }));
  const conn = { close() {} } as unknown as DenoConn;
  const accepted: unknown[] = [];
  const reports: unknown[] = [];
  let accepts = 0;
  const closing = new AbortController();
  const loop = acceptLoop(
    {
      accept: () => {
        const error = gone[accepts++];
        if (error !== undefined) return new Promise<never>((_, reject) => setTimeout(() => reject(error), 0));
        return accepts === gone.length + 1 ? Promise.resolve(conn) : new Promise<DenoConn>(() => {});
      },
    },
    (c) => void accepted.push(c),
    (error) => void reports.push(error),
    closing.signal,
  );
  await sleep(ACCEPT_RETRY_DELAY_MS / 4);
  assert.equal(accepted, [conn], 'accepted right after the three failures');
  assert.equal(reports, []);
  closing.abort();
  void loop;
});

pause.run();
