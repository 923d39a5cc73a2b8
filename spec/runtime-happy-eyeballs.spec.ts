/**
 * `happyEyeballsDelay`, `interleave` and `allErrors` (RFC 8305; CPython 3.8 and 3.12). The
 * core's `connectFirst()` and `interleaveAddresses()` do them for an adapter that hands them a
 * `connect(address)`: the machine's names resolve to one address each (no IPv6 `localhost`), so
 * the two-address cases feed `connectFirst()` themselves, with an attempt that never answers
 * (until aborted) beside a real connection to a loopback server. Through `openConnection()`:
 * every adapter (Node, Deno, Bun); the portable entry refuses the options by name.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as web from '../lib/runtime/web.ts';
import type { Server, StreamReader, StreamWriter } from '../lib/index.ts';
import { connectFirst, interleaveAddresses } from '../lib/_happy-eyeballs.ts';
import { denoNamespace, type DenoNetAddr } from '../lib/runtime/deno/namespace.ts';
import { leakFreeTwice } from './_first-use.ts';
import { rejection, text, within } from './_loopback.ts';
import { openConnection, runtime, startServer } from './_runtime.ts';

const HOST = '127.0.0.1';

type Connection = [StreamReader, StreamWriter];

function portOf(server: Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

async function greet(_reader: StreamReader, writer: StreamWriter): Promise<void> {
  writer.write('hello\n');
  writer.close();
}

/**
 * A port nothing listens on: a server's, closed. On Deno a bare `Deno.Listener`'s, closed before
 * any `accept()`: Deno closes a listener whose `accept()` waits only after the next connection
 * came in, which it resets (ECONNRESET instead of ECONNREFUSED), and a server's accept loop
 * always has one waiting.
 */
async function refusedPort(): Promise<number> {
  if (runtime === 'deno') {
    const listener = denoNamespace().listen({ hostname: HOST, port: 0 });
    listener.close();
    return (listener.addr as DenoNetAddr).port;
  }
  const server = await startServer(() => {}, HOST, 0);
  const port = portOf(server);
  server.close();
  await within(server.waitClosed());
  return port;
}

/** An attempt that never connects: it waits until its signal aborts, then rejects with the reason. */
function neverAnswers(signal: AbortSignal, aborted: string[], name: string): Promise<never> {
  return new Promise<never>((_, reject) => {
    signal.addEventListener('abort', () => {
      aborted.push(name);
      reject(signal.reason);
    }, { once: true });
  });
}

const order = suite('interleave orders the addresses as CPython _interleave_addrinfos()');

order('1, 2 and more of the first family, then one of each in turn (outputs of CPython 3.13)', () => {
  const a = [
    { address: 'a6', family: 6 }, { address: 'b6', family: 6 }, { address: 'c6', family: 6 },
    { address: 'a4', family: 4 }, { address: 'b4', family: 4 },
  ];
  const names = (list: Array<{ address: string }>): string[] => list.map((item) => item.address);
  assert.equal(names(interleaveAddresses(a, 1)), ['a6', 'a4', 'b6', 'b4', 'c6']);
  assert.equal(names(interleaveAddresses(a, 2)), ['a6', 'b6', 'a4', 'c6', 'b4']);
  assert.equal(names(interleaveAddresses(a, 4)), ['a6', 'b6', 'c6', 'a4', 'b4']);
  const b = [{ address: 'a4', family: 4 }, { address: 'a6', family: 6 }, { address: 'b4', family: 4 }, { address: 'c4', family: 4 }];
  assert.equal(names(interleaveAddresses(b, 1)), ['a4', 'a6', 'b4', 'c4']);
  assert.equal(names(interleaveAddresses(b, 2)), ['a4', 'b4', 'a6', 'c4']);
  assert.equal(names(b), ['a4', 'a6', 'b4', 'c4'], 'the input is left as it was');
});

const race = suite(`connectFirst: the first address to connect wins (${runtime})`);

race('with a delay, the next address starts when the first has not answered within it, and wins; the first is aborted', async () => {
  await leakFreeTwice(async () => {
    const server = await startServer(greet, HOST, 0);
    try {
      const started: Array<[string, number]> = [];
      const aborted: string[] = [];
      const begin = Date.now();
      const [reader, writer] = await within(connectFirst<string, Connection>(['silent', HOST], (address, signal) => {
        started.push([address, Date.now() - begin]);
        return address === 'silent' ? neverAnswers(signal, aborted, address) : openConnection(address, portOf(server));
      }, { delay: 0.2, allErrors: false, close: ([, writer]) => writer.close() }));
      assert.is(text(await within(reader.readline())), 'hello\n', 'connected to the server');
      assert.equal(started.map(([address]) => address), ['silent', HOST]);
      assert.ok(started[1]![1] >= 150, `the second started after the delay (${started[1]![1]} ms)`);
      assert.equal(aborted, ['silent'], 'the attempt that lost is aborted');
      writer.close();
      await within(writer.waitClosed());
    } finally {
      server.close();
      await within(server.waitClosed());
    }
  });
});

race('an attempt that fails starts the next at once, delay or not', async () => {
  await leakFreeTwice(async () => {
    const server = await startServer(greet, HOST, 0);
    const refused = await refusedPort();
    try {
      for (const delay of [undefined, 10]) {
        const begin = Date.now();
        const ports = [refused, portOf(server)];
        const [reader, writer] = await within(connectFirst<number, Connection>(ports, (port) => openConnection(HOST, port), {
          delay,
          allErrors: false,
          close: ([, writer]) => writer.close(),
        }));
        assert.ok(Date.now() - begin < 5000, 'not after the 10 s delay');
        assert.is(text(await within(reader.readline())), 'hello\n');
        writer.close();
        await within(writer.waitClosed());
      }
    } finally {
      server.close();
      await within(server.waitClosed());
    }
  });
});

race('without a delay, one attempt at a time', async () => {
  const started: string[] = [];
  let running = 0;
  let most = 0;
  const result = await connectFirst(['a', 'b', 'c'], async (address) => {
    started.push(address);
    running += 1;
    most = Math.max(most, running);
    await new Promise((resolve) => setTimeout(resolve, 20));
    running -= 1;
    if (address !== 'c') throw new Error(`${address} refused`);
    return address;
  }, { delay: undefined, allErrors: false, close: () => {} });
  assert.is(result, 'c');
  assert.equal(started, ['a', 'b', 'c']);
  assert.is(most, 1);
});

race('a connection that arrives after another won is closed', async () => {
  const closed: string[] = [];
  const result = await connectFirst(['slow', 'fast'], (address) => new Promise<string>((resolve) => {
    setTimeout(() => resolve(address), address === 'slow' ? 150 : 10);
  }), { delay: 0.02, allErrors: false, close: (connection) => void closed.push(connection) });
  assert.is(result, 'fast');
  await new Promise((resolve) => setTimeout(resolve, 250));
  assert.equal(closed, ['slow']);
});

race("when every attempt fails: allErrors gives them all, else CPython's rule", async () => {
  const fail = (messages: string[], allErrors: boolean): Promise<unknown> =>
    rejection(connectFirst(messages, async (message) => {
      throw new Error(message);
    }, { delay: undefined, allErrors, close: () => {} }));
  const all = await fail(['a refused', 'b refused'], true);
  assert.instance(all, AggregateError);
  assert.equal((all as AggregateError).errors.map((error: Error) => error.message), ['a refused', 'b refused']);
  assert.is(((await fail(['only'], false)) as Error).message, 'only');
  assert.is(((await fail(['same', 'same'], false)) as Error).message, 'same');
  const combined = (await fail(['a refused', 'b unreachable'], false)) as Error;
  assert.is(combined.message, 'Multiple exceptions: a refused, b unreachable');
});

const options = suite(`openConnection() with happyEyeballsDelay, interleave, allErrors (${runtime})`);

options('they connect to every address of the host, as the core tries them', async () => {
  await leakFreeTwice(async () => {
    const server = await startServer(greet, HOST, 0);
    try {
      for (const option of [{ happyEyeballsDelay: 0.05 }, { interleave: 2 }, { allErrors: true }]) {
        const [reader, writer] = await within(openConnection('localhost', portOf(server), option));
        assert.is(text(await within(reader.readline())), 'hello\n');
        writer.close();
        await within(writer.waitClosed());
      }
    } finally {
      server.close();
      await within(server.waitClosed());
    }
  });
});

options('allErrors: true rejects with an AggregateError of every attempt; without it, the error itself', async () => {
  const port = await refusedPort();
  const all = await rejection(openConnection(HOST, port, { allErrors: true }));
  assert.instance(all, AggregateError);
  assert.equal((all as AggregateError).errors.map((error: { code?: unknown }) => error.code), ['ECONNREFUSED']);
  const one = await rejection(openConnection(HOST, port, { happyEyeballsDelay: 0.05 }));
  assert.not.instance(one, AggregateError);
  assert.is((one as { code?: unknown }).code, 'ECONNREFUSED');
});

options('bad values are refused, and the portable entry refuses the options by name', async () => {
  for (const [option, expected] of [
    [{ happyEyeballsDelay: -1 }, RangeError],
    [{ happyEyeballsDelay: '1' }, TypeError],
    [{ interleave: 1.5 }, RangeError],
    [{ allErrors: 1 }, TypeError],
  ] as const) {
    const error = await rejection(openConnection(HOST, 1, option as Record<string, unknown>));
    assert.instance(error, expected, JSON.stringify(option));
  }
  const error = await rejection(web.openConnection(HOST, 1, { happyEyeballsDelay: 0.25 }));
  assert.instance(error, RangeError);
  assert.match((error as Error).message, /not supported without a runtime adapter/);
});

order.run();
race.run();
options.run();
