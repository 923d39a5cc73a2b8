/**
 * A client callback that returns without closing its writer, whose client then leaves: the
 * server must not keep that socket forever. As CPython closes the transport of a collected
 * `StreamWriter` (`__del__`, ResourceWarning `unclosed <StreamWriter ...>`, gh-114914), an
 * abandoned writer is closed when it is garbage-collected, with a warning; a writer still
 * referenced is never touched. GC is forced with `--expose-gc` set at run time.
 */
import { connect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer, type Server, type StreamWriter } from '../lib/runtime/node.ts';
import { openSockets } from './_leaks.ts';
import { sleep, watchUnhandled, within } from './_loopback.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function portOf(server: Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

/** Connects, reads the server's greeting line, and leaves (destroys its socket). */
async function visitAndLeave(port: number): Promise<string> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  let received = '';
  socket.setEncoding('latin1');
  await within(new Promise<void>((resolve) => {
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.endsWith('\n')) resolve();
    });
  }), 5000, 'the greeting');
  socket.destroy();
  await new Promise((resolve) => socket.once('close', resolve));
  return received;
}

/** Collects garbage until `done()` holds (finalizers run in later turns); gives up after `ms`. */
async function collectUntil(done: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) {
    gc();
    await sleep(10);
  }
}

/** Records console.warn calls until `restore()`. */
function captureWarnings(): { warnings: string[]; restore(): void } {
  const original = console.warn;
  const warnings: string[] = [];
  console.warn = (...args: unknown[]) => void warnings.push(args.map(String).join(' '));
  return { warnings, restore: () => void (console.warn = original) };
}

const abandoned = suite('An abandoned server writer');

abandoned('20 clients whose callback dropped its writer and reader unclosed leave no server descriptor after GC, each warned of', async () => {
  const watch = watchUnhandled();
  const capture = captureWarnings();
  const server = await startServer((_reader, writer) => {
    writer.write('hello\n');
  }, '127.0.0.1', 0);
  try {
    const baseline = openSockets();
    for (let i = 0; i < 20; i += 1) assert.is(await visitAndLeave(portOf(server)), 'hello\n');
    await sleep(50);
    const unclosed = (): number => capture.warnings.filter((warning) => warning.startsWith('unclosed <StreamWriter transport=')).length;
    // A collection may come on its own meanwhile; only collections close these sockets.
    assert.ok(openSockets() >= baseline + 20 - unclosed(), 'the server holds every socket whose writer and reader were not collected');
    await collectUntil(() => openSockets() <= baseline);
    assert.is(openSockets(), baseline, 'every server socket is closed once its writer and reader are collected');
    assert.is(unclosed(), 20, capture.warnings.join('\n'));
  } finally {
    capture.restore();
    server.close();
    server.abortClients();
    await within(server.waitClosed());
    await watch.stop();
  }
});

abandoned('a writer the callback keeps referenced is never closed by GC', async () => {
  const watch = watchUnhandled();
  const capture = captureWarnings();
  const kept: StreamWriter[] = [];
  const server = await startServer((_reader, writer) => {
    kept.push(writer);
    writer.write('hello\n');
  }, '127.0.0.1', 0);
  const peer = connect({ port: portOf(server), host: '127.0.0.1' });
  peer.on('error', () => {});
  try {
    let received = '';
    peer.setEncoding('latin1');
    peer.on('data', (chunk: string) => void (received += chunk));
    await within((async () => { while (!received.endsWith('\n')) await sleep(5); })());
    for (let i = 0; i < 20; i += 1) {
      gc();
      await sleep(10);
    }
    const writer = kept[0]!;
    assert.not.ok(writer.isClosing(), 'the writer is still open');
    writer.write('still here\n');
    await writer.drain();
    await within((async () => { while (!received.endsWith('still here\n')) await sleep(5); })());
    assert.is(received, 'hello\nstill here\n');
    assert.equal(capture.warnings, []);
    writer.close();
    await within(writer.waitClosed());
  } finally {
    capture.restore();
    peer.destroy();
    server.close();
    server.abortClients();
    await within(server.waitClosed());
    await watch.stop();
  }
});

abandoned.run();
