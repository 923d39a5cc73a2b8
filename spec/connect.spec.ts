/**
 * `connectStreams()`, the client outline every adapter shares, driven by a stub runtime whose
 * connections are pairs of streams that loop back: `connectHappyEyeballs()` over the addresses
 * it resolves (one that never answers beside one that does), the abort at each step,
 * TLS once open, and `sock`. The adapters' real connections: `open-connection`,
 * `runtime-network`, `runtime-happy-eyeballs`, `runtime-tls` and the rest.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkConnection, startTlsOptionsOf, type CheckedConnection, type CheckedTls } from '../lib/_checks.ts';
import { connectStreams, type Connection, type Connector } from '../lib/_connect.ts';
import { connectHappyEyeballs, type ResolvedAddress } from '../lib/_happy-eyeballs.ts';
import type { OpenConnectionOptions } from '../lib/options.ts';
import type { SocketStartTlsOptions, StreamPair, Transport } from '../lib/transport.ts';
import { rejection, text, within } from './_loopback.ts';

/** A connection of the stub connector: what is written comes back; `close()` fails a pending `opened`, as a socket's does. */
type Stub = StreamPair & Connection & {
  readonly name: string;
  /** The stub's TLS, which the connector's `startTls` calls. */
  startTls?(options: SocketStartTlsOptions): Transport;
  /** The reasons `close()` was called with (`undefined` for none). */
  readonly closes: unknown[];
  open(): void;
  fail(error: unknown): void;
};

function stub(name: string, startTls?: (options: SocketStartTlsOptions) => Transport): Stub {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  let open!: () => void;
  let fail!: (error: unknown) => void;
  const opened = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  opened.catch(() => {});
  const closes: unknown[] = [];
  return {
    name, readable, writable, opened, closes, open, fail,
    close(reason?: unknown) {
      closes.push(reason);
      fail(reason ?? new Error(`${name} closed`));
      return Promise.resolve();
    },
    ...(startTls === undefined ? {} : { startTls }),
  };
}

/** `[reader, writer]` loop back: a line written comes back. Closes the writer after. */
async function loopsBack([reader, writer]: Awaited<ReturnType<typeof connectStreams>>): Promise<void> {
  writer.write('ping\n');
  assert.is(text(await within(reader.readline())), 'ping\n');
  writer.close();
  await within(writer.waitClosed());
}

const A4 = { address: '192.0.2.1', family: 4 };
const B4 = { address: '127.0.0.1', family: 4 };
const A6 = { address: '2001:db8::1', family: 6 };
const B6 = { address: '2001:db8::2', family: 6 };

/**
 * A stub runtime over `connections` by address (`undefined`: the host as given), resolving the
 * host to `addresses`; `open()` runs the outline with its connector, as an adapter does.
 */
function stubRuntime(connections: Map<string | undefined, Stub>, addresses: ResolvedAddress[] = []) {
  const attempts: Array<string | undefined> = [];
  const resolved: unknown[] = [];
  const connectTo = async (address: ResolvedAddress | undefined): Promise<Stub> => {
    attempts.push(address?.address);
    const connection = connections.get(address?.address);
    if (connection === undefined) throw Object.assign(new Error(`connect ECONNREFUSED ${address?.address}`), { code: 'ECONNREFUSED' });
    return connection;
  };
  const resolve = async (host: string, family: number): Promise<ResolvedAddress[]> => {
    resolved.push([host, family]);
    return addresses;
  };
  return {
    attempts,
    resolved,
    open(options: CheckedConnection, sock?: unknown, { withTls = true } = {}) {
      const connector: Connector<Stub> = {
        connect: connectHappyEyeballs(options, resolve, connectTo),
        adopt: (given) => ((given as { name?: unknown }).name === 'runtime socket' ? (given as Stub) : undefined),
        ...(withTls ? { startTls: (connection: Stub, tls: CheckedTls) => connection.startTls!(startTlsOptionsOf(tls)) } : {}),
        socketName: 'a stub socket',
      };
      return connectStreams(options, sock, connector);
    },
  };
}

const checked = (options: OpenConnectionOptions<unknown> = {}, host: string | null = 'example.test', port: number | null = 80) =>
  checkConnection(host, port, options);

const eyeballs = suite('connectStreams with connectHappyEyeballs: the addresses the runtime resolves');

eyeballs('with a delay, an address that never answers loses to the next one, which is used; the loser is closed', async () => {
  const silent = stub('silent');
  const answers = stub('answers');
  answers.open();
  const connect = stubRuntime(new Map([[A4.address, silent], [B4.address, answers]]), [A4, B4]);
  const begin = Date.now();
  const streams = await within(connect.open(checked({ happyEyeballsDelay: 0.05 })));
  assert.ok(Date.now() - begin >= 40, 'the second started after the delay');
  assert.equal(connect.resolved, [['example.test', 0]]);
  assert.equal(connect.attempts, [A4.address, B4.address]);
  assert.is(silent.closes.length, 1, 'the attempt that lost is closed');
  assert.instance(silent.closes[0], Error, "with its signal's reason");
  assert.equal(answers.closes, [], 'the winner stays open');
  await loopsBack(streams);
});

eyeballs('interleave orders the families before trying them; allErrors gives every error, in that order', async () => {
  const connect = stubRuntime(new Map(), [A6, B6, A4]);
  const error = await rejection(connect.open(checked({ interleave: 1, allErrors: true })));
  assert.equal(connect.attempts, [A6.address, A4.address, B6.address]);
  assert.instance(error, AggregateError);
  assert.equal((error as AggregateError).errors.map((each: Error) => each.message), [
    `connect ECONNREFUSED ${A6.address}`, `connect ECONNREFUSED ${A4.address}`, `connect ECONNREFUSED ${B6.address}`,
  ]);
});

eyeballs("an abort while attempts are under way rejects with the signal's reason, and closes them", async () => {
  const silent = stub('silent');
  const controller = new AbortController();
  const connecting = stubRuntime(new Map([[A4.address, silent]]), [A4, B4]).open(checked({ happyEyeballsDelay: 10, signal: controller.signal }));
  await new Promise((resolve) => setTimeout(resolve, 10));
  const reason = new Error('gave up');
  controller.abort(reason);
  assert.is(await rejection(connecting), reason);
  assert.equal(silent.closes.length, 1);
});

eyeballs('without the options the host is connected as given, and not resolved', async () => {
  const plain = stub('plain');
  plain.open();
  const connect = stubRuntime(new Map([[undefined, plain]]), [A4]);
  await loopsBack(await within(connect.open(checked())));
  assert.equal(connect.attempts, [undefined]);
  assert.equal(connect.resolved, []);
});

const steps = suite('connectStreams: open, TLS and the abort');

steps("an abort while the connection opens closes it with the signal's reason and rejects with it", async () => {
  const slow = stub('slow');
  const controller = new AbortController();
  const connecting = stubRuntime(new Map([[undefined, slow]])).open(checked({ signal: controller.signal }));
  await new Promise((resolve) => setTimeout(resolve, 10));
  const reason = new Error('gave up');
  controller.abort(reason);
  assert.is(await rejection(connecting), reason);
  assert.is(slow.closes[0], reason);
});

steps('ssl: TLS starts once open, with the checked options and the host as the name, and the streams run over it', async () => {
  const secure = stub('secure');
  const seen: SocketStartTlsOptions[] = [];
  const plain = stub('plain', (options) => {
    seen.push(options);
    return secure as unknown as Transport;
  });
  plain.open();
  const connecting = stubRuntime(new Map([[undefined, plain]])).open(checked({ ssl: true, sslHandshakeTimeout: 5 }));
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.is(seen.length, 1);
  assert.is(seen[0]!.serverHostname, 'example.test');
  assert.is(seen[0]!.sslHandshakeTimeout, 5);
  secure.open();
  const [reader, writer] = await within(connecting);
  assert.is(writer.transport, secure, 'the writer writes to the TLS connection');
  await loopsBack([reader, writer]);
});

steps('a failed handshake rejects with its error and closes the connection', async () => {
  const secure = stub('secure');
  const plain = stub('plain', () => secure as unknown as Transport);
  plain.open();
  const handshake = new Error('certificate has expired');
  const connecting = stubRuntime(new Map([[undefined, plain]])).open(checked({ ssl: true }));
  await new Promise((resolve) => setTimeout(resolve, 10));
  secure.fail(handshake);
  assert.is(await rejection(connecting), handshake);
  assert.equal(plain.closes, [undefined]);
});

steps('ssl with a connector that has no startTls is refused once open, never used in plain text', async () => {
  const plain = stub('plain');
  plain.open();
  const error = await rejection(stubRuntime(new Map([[undefined, plain]])).open(checked({ ssl: true }), undefined, { withTls: false }));
  assert.instance(error, TypeError);
  assert.match((error as Error).message, /^ssl is not supported/);
  assert.equal(plain.closes, [undefined], 'the connection is closed');
});

const sock = suite('connectStreams: sock');

sock("the runtime's socket is adopted and waited for; nothing is connected", async () => {
  const runtimeSocket = stub('runtime socket');
  const connect = stubRuntime(new Map());
  const connecting = connect.open(checked({ sock: runtimeSocket }, null, null), runtimeSocket);
  await new Promise((resolve) => setTimeout(resolve, 10));
  runtimeSocket.open();
  await loopsBack(await within(connecting));
  assert.equal(connect.attempts, []);
});

sock('any other sock is a pair of streams, which ssl refuses by the name of the socket it needs', async () => {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const pair = { readable, writable };
  await loopsBack(await within(stubRuntime(new Map()).open(checked({ sock: pair }, null, null), pair)));
  const error = await rejection(stubRuntime(new Map()).open(checked({ sock: pair, ssl: true, serverHostname: 'example.test' }, null, null), pair));
  assert.instance(error, TypeError);
  assert.is((error as Error).message, 'ssl needs sock to be a stub socket, not a pair of streams');
});

sock('an aborted signal refuses a pair of streams too, as it does a socket, and leaves the pair alone', async () => {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const pair = { readable, writable };
  const reason = new Error('aborted before');
  const error = await rejection(stubRuntime(new Map()).open(checked({ sock: pair, signal: AbortSignal.abort(reason) }, null, null), pair));
  assert.is(error, reason);
  assert.not.ok(readable.locked || writable.locked, 'the pair is still the caller\'s');
});

eyeballs.run();
steps.run();
sock.run();
