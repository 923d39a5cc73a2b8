import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { StreamReader, StreamReaderProtocol, StreamWriter, type Transport } from '../lib/index.ts';
import { openStreams } from '../lib/_open-streams.ts';
import { bytes, rejection, text, tick, watchUnhandled, within } from './_loopback.ts';

/** A transport over an in-memory writable that records flow control and closes. */
function memoryTransport(options: { canWriteEof?: boolean } = {}) {
  const calls: string[] = [];
  const written: string[] = [];
  let settle!: () => void;
  const closed = new Promise<void>((resolve) => (settle = resolve));
  const transport: Transport = {
    writable: new WritableStream<Uint8Array>({ write: (chunk) => void written.push(text(chunk)) }),
    closed,
    close: () => {
      calls.push('close');
      settle();
      return closed;
    },
    pauseReading: () => void calls.push('pause'),
    resumeReading: () => void calls.push('resume'),
    canWriteEof: () => options.canWriteEof ?? true,
  };
  return { transport, calls, written };
}

const client = suite('StreamReaderProtocol, client side');

client('feeds the data it receives to the reader', async () => {
  const reader = new StreamReader();
  const protocol = new StreamReaderProtocol(reader);
  protocol.dataReceived(bytes('line1\nli'));
  protocol.dataReceived(bytes('ne2\n'));
  assert.is(text(await reader.readline()), 'line1\n');
  assert.is(text(await reader.readline()), 'line2\n');
  assert.is(protocol.reader, reader);
});

client('feeds EOF and keeps the connection half-open', async () => {
  const reader = new StreamReader();
  const protocol = new StreamReaderProtocol(reader);
  protocol.connectionMade(memoryTransport().transport);
  protocol.dataReceived(bytes('tail'));
  assert.is(protocol.eofReceived(), true);
  assert.is(text(await reader.read()), 'tail');
  assert.is(reader.atEof(), true);
});

client('asks to close at EOF over a transport that cannot half-close (TLS)', () => {
  const protocol = new StreamReaderProtocol(new StreamReader());
  protocol.connectionMade(memoryTransport({ canWriteEof: false }).transport);
  assert.is(protocol.eofReceived(), false);
});

client('sets itself as the reader\'s transport, which the reader pauses and resumes', async () => {
  const reader = new StreamReader({ limit: 4 });
  const protocol = new StreamReaderProtocol(reader);
  const { transport, calls } = memoryTransport();
  protocol.connectionMade(transport);
  assert.is(reader.transport, transport);
  assert.is(protocol.transport, transport);
  protocol.dataReceived(bytes('0123456789'));
  assert.equal(calls, ['pause']);
  await reader.read(8);
  assert.equal(calls, ['pause', 'resume']);
});

client('a clean connectionLost feeds EOF and resolves closed', async () => {
  const reader = new StreamReader();
  const protocol = new StreamReaderProtocol(reader);
  protocol.dataReceived(bytes('rest'));
  protocol.connectionLost(null);
  await within(protocol.closed);
  assert.is(text(await reader.read()), 'rest');
  assert.is(reader.atEof(), true);
});

client('connectionLost with an error makes every read raise it (tests 5 and 6)', async () => {
  const watch = watchUnhandled();
  const reader = new StreamReader();
  const protocol = new StreamReaderProtocol(reader);
  protocol.dataReceived(bytes('buffered'));
  class ZeroDivisionError extends Error {}
  const error = new ZeroDivisionError();
  const pending = reader.readexactly(100);
  protocol.connectionLost(error);
  assert.is(await rejection(pending), error);
  assert.is(await rejection(reader.read()), error);
  assert.is(await rejection(protocol.closed), error);
  await watch.stop();
});

client('closed asked for before the loss settles at it; a loss nobody asks about is no unhandled rejection', async () => {
  const watch = watchUnhandled();
  const early = new StreamReaderProtocol(new StreamReader());
  const closed = early.closed;
  assert.is(early.closed, closed);
  const error = new Error('reset');
  early.connectionLost(error);
  assert.is(await rejection(closed), error);
  new StreamReaderProtocol(new StreamReader()).connectionLost(new Error('nobody asks'));
  await tick();
  await watch.stop();
});

client('the connection functions\' writer hears of the loss from the protocol at once, and reads the transport\'s closed only for waitClosed()', async () => {
  let connected: StreamReaderProtocol | null = null;
  let closedReads = 0;
  const { transport: memory } = memoryTransport();
  const transport = {
    ...memory,
    get closed() {
      closedReads += 1;
      return memory.closed;
    },
    connectProtocol: (protocol: StreamReaderProtocol) => void (connected = protocol),
  } as Transport & { connectProtocol(protocol: StreamReaderProtocol): void };
  const [, writer] = openStreams(transport, undefined);
  assert.is(closedReads, 0);
  const error = new Error('reset');
  connected!.connectionLost(error);
  assert.is(writer.isClosing(), true);
  assert.is(await rejection(writer.drain()), error);
  assert.is(closedReads, 0);
  void memory.close();
  await within(writer.waitClosed());
  assert.is(closedReads, 1);
});

client('makes no writer on the client side', () => {
  const protocol = new StreamReaderProtocol(new StreamReader());
  protocol.connectionMade(memoryTransport().transport);
  assert.is(protocol.writer, null);
});

client('a chunk a waiting read takes whole is the result itself: no copy, and a plain Uint8Array', async () => {
  class Received extends Uint8Array {}
  const reader = new StreamReader();
  const protocol = new StreamReaderProtocol(reader);
  const reading = reader.read(100);
  const chunk = new Received(bytes('whole'));
  protocol.dataReceived(chunk);
  const result = await within(reading);
  assert.is(text(result), 'whole');
  assert.is(result.buffer, chunk.buffer, 'the same memory');
  assert.is(Object.getPrototypeOf(result), Uint8Array.prototype, 'not the subclass (a Node Buffer slices by reference)');
  protocol.dataReceived(bytes('later'));
  assert.is(text(result), 'whole', 'later feeds leave it alone');
  assert.is(text(await reader.read(100)), 'later');
});

client('a large readexactly() waiting when a chunk of that size arrives gets the chunk itself; a frame over two chunks is joined', async () => {
  const reader = new StreamReader();
  const protocol = new StreamReaderProtocol(reader);
  const frame = new Uint8Array(65536).fill(7);
  const reading = reader.readexactly(65536);
  protocol.dataReceived(frame);
  const result = await within(reading);
  assert.is(result.buffer, frame.buffer, 'no copy');
  const joined = reader.readexactly(65536);
  protocol.dataReceived(new Uint8Array(40000).fill(1));
  await tick();
  protocol.dataReceived(new Uint8Array(30000).fill(2));
  const both = await within(joined);
  assert.is(both.length, 65536);
  assert.is(both[39999], 1);
  assert.is(both[40000], 2);
  assert.is((await reader.read(100000)).length, 30000 - 25536);
});

client('chunks that share memory are copied, and so is anything feedData() is given', async () => {
  const reader = new StreamReader();
  const protocol = new StreamReaderProtocol(reader);
  const pool = bytes('pooled bytes');
  protocol.dataReceived(pool.subarray(0, 6));
  const fromPool = await within(reader.read(100));
  pool.fill(0);
  assert.is(text(fromPool), 'pooled');
  const fed = bytes('fed');
  reader.feedData(fed);
  const result = await within(reader.read(100));
  fed.fill(0);
  assert.is(text(result), 'fed');
});

client('a waiting read(n) takes what arrived by the time it resumes, as CPython does: every chunk of that turn', async () => {
  const reader = new StreamReader();
  const protocol = new StreamReaderProtocol(reader);
  const reading = reader.read(100);
  protocol.dataReceived(bytes('one '));
  protocol.dataReceived(bytes('two'));
  assert.is(text(await within(reading)), 'one two');
});

client('a chunk read in parts keeps its bytes in order through later feeds, and earlier results stay as they were', async () => {
  const reader = new StreamReader();
  const protocol = new StreamReaderProtocol(reader);
  protocol.dataReceived(bytes('abcdef'));
  const first = await reader.read(2);
  protocol.dataReceived(bytes('gh'));
  assert.is(text(await reader.readexactly(3)), 'cde');
  protocol.dataReceived(bytes('ij\n'));
  assert.is(text(await reader.readline()), 'fghij\n');
  assert.is(text(first), 'ab');
});

client.run();

const server = suite('StreamReaderProtocol, server side');

server('calls the client callback with the reader and a writer over the transport', async () => {
  const reader = new StreamReader();
  const { transport, written } = memoryTransport();
  let got: [StreamReader, StreamWriter] | null = null;
  const protocol = new StreamReaderProtocol(reader, (r, w) => {
    got = [r, w];
  });
  protocol.connectionMade(transport);
  assert.ok(got !== null);
  const [r, w] = got as [StreamReader, StreamWriter];
  assert.is(r, reader);
  assert.is(w, protocol.writer);
  assert.is(w.transport, transport);
  w.write('hello');
  await tick();
  assert.equal(written, ['hello']);
  w.close();
});

server('reports a callback that throws and closes its connection (CPython gh-155941)', async () => {
  const { transport, calls } = memoryTransport();
  const reports: Array<[unknown, string, unknown]> = [];
  const error = new Error('sync boom');
  const protocol = new StreamReaderProtocol(new StreamReader(), () => {
    throw error;
  }, { onError: (e, context) => void reports.push([e, context.message, context.transport]) });
  protocol.connectionMade(transport);
  assert.equal(reports, [[error, 'Unhandled exception in client_connected_cb', transport]]);
  await within(transport.closed);
  assert.equal(calls, ['close']);
});

server('reports an async callback that rejects and closes its connection (test 72)', async () => {
  const watch = watchUnhandled();
  const { transport, calls } = memoryTransport();
  const reports: unknown[] = [];
  const error = new Error('test');
  const protocol = new StreamReaderProtocol(new StreamReader(), async (reader) => {
    await reader.read(1);
    throw error;
  }, { onError: (e) => void reports.push(e) });
  protocol.connectionMade(transport);
  assert.equal(reports, []);
  protocol.dataReceived(bytes('x'));
  await within(transport.closed);
  assert.equal(reports, [error]);
  assert.equal(calls, ['close']);
  await watch.stop();
});

server('logs with console.error when no hook is given', async () => {
  const { transport } = memoryTransport();
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void logged.push(args);
  try {
    const error = new Error('unhooked');
    new StreamReaderProtocol(new StreamReader(), () => {
      throw error;
    }).connectionMade(transport);
    assert.equal(logged, [['Unhandled exception in client_connected_cb', error]]);
  } finally {
    console.error = original;
  }
});

server('a hook that throws is logged, and the connection is still closed', async () => {
  const { transport, calls } = memoryTransport();
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void logged.push(args);
  try {
    const hookError = new Error('hook broke');
    new StreamReaderProtocol(new StreamReader(), () => {
      throw new Error('handler');
    }, {
      onError: () => {
        throw hookError;
      },
    }).connectionMade(transport);
    await within(transport.closed);
    assert.is(logged.length, 1);
    assert.is(logged[0]![1], hookError);
    assert.equal(calls, ['close']);
  } finally {
    console.error = original;
  }
});

server('leaves the connection alone when the callback returns normally', async () => {
  const { transport, calls } = memoryTransport();
  const protocol = new StreamReaderProtocol(new StreamReader(), async (_reader, writer) => {
    writer.write('hi');
  });
  protocol.connectionMade(transport);
  await tick();
  assert.equal(calls, []);
  protocol.writer!.close();
  await within(protocol.writer!.waitClosed());
  assert.equal(calls, ['close']);
});

server.run();
