/**
 * `cleanupSocket` of `startUnixServer()` (CPython 3.13), under Node, Deno and Bun: closing the
 * server removes its socket file when it is still the file the server created, and leaves it
 * with `cleanupSocket: false`. The runtimes themselves unlink a listener's path at close, whatever
 * is there by then, so these specs also make sure a file put in its place survives, and that
 * the server leaves no file of its own behind in the directory. Each body runs twice, counted
 * the second time: Deno takes sockets for good on a first use.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Server, StreamReader, StreamWriter } from '../lib/index.ts';
import { leakFreeTwice } from './_first-use.ts';
import { rejection, tempDir, text, within } from './_loopback.ts';
import { openUnixConnection, runtime, startUnixServer } from './_runtime.ts';

const directory = tempDir();
let serial = 0;

/** A fresh path in the private directory, alone in a directory of its own making no difference. */
function socketPath(): string {
  serial += 1;
  return directory.path(`cleanup-${serial}.sock`);
}

async function echo(reader: StreamReader, writer: StreamWriter): Promise<void> {
  writer.write(await reader.readline());
  writer.close();
}

/** The server answers a line on `path`. */
async function assertServes(path: string): Promise<void> {
  const [reader, writer] = await within(openUnixConnection(path));
  writer.write('ping\n');
  assert.is(text(await within(reader.readline())), 'ping\n');
  writer.close();
  await within(writer.waitClosed());
}

async function closed(server: Server): Promise<void> {
  server.close();
  await within(server.waitClosed());
}

/** The names in the socket's directory other than the specs' own sockets: none of the server's own. */
function strays(path: string): string[] {
  return readdirSync(dirname(path)).filter((name) => !/^cleanup-\d+\.sock$/.test(name));
}

const cleanup = suite(`startUnixServer cleanupSocket (${runtime})`);

cleanup('by default, close() removes the socket file, at once', async () => {
  await leakFreeTwice(async () => {
    const path = socketPath();
    const server = await startUnixServer(echo, path);
    assert.ok(lstatSync(path).isSocket(), 'the socket file is at the path');
    assert.is(server.sockets[0]!.getsockname(), path);
    await assertServes(path);
    assert.equal(strays(path), [], 'no other file of the server beside it');
    server.close();
    assert.not.ok(existsSync(path), 'gone as close() returns');
    await within(server.waitClosed());
  });
});

cleanup('cleanupSocket: true does the same', async () => {
  await leakFreeTwice(async () => {
    const path = socketPath();
    const server = await startUnixServer(echo, path, { cleanupSocket: true });
    await closed(server);
    assert.not.ok(existsSync(path));
  });
});

cleanup('cleanupSocket: false leaves the socket file, which nothing answers on any more', async () => {
  await leakFreeTwice(async () => {
    const path = socketPath();
    const server = await startUnixServer(echo, path, { cleanupSocket: false });
    await assertServes(path);
    await closed(server);
    // Give a runtime that would unlink late the time to do it.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(lstatSync(path).isSocket(), 'the socket file stays');
    assert.equal(strays(path), [], 'and nothing else');
    const error = (await rejection(openUnixConnection(path))) as { code?: unknown };
    assert.is(error.code, 'ECONNREFUSED', 'nobody listens on it');
    // As with CPython, a later server on the path replaces the stale socket file.
    const next = await startUnixServer(echo, path);
    await assertServes(path);
    await closed(next);
    assert.not.ok(existsSync(path));
  });
});

cleanup("a symlink at the path to a stale socket file is replaced, as CPython's os.stat() check does; what it pointed to stays", async () => {
  await leakFreeTwice(async () => {
    const stale = socketPath();
    const first = await startUnixServer(echo, stale, { cleanupSocket: false });
    await closed(first);
    const path = socketPath();
    symlinkSync(stale, path);
    const server = await startUnixServer(echo, path);
    try {
      await assertServes(path);
      assert.ok(lstatSync(path).isSocket(), 'the link was replaced by the server\'s socket file');
      assert.ok(lstatSync(stale).isSocket(), 'the stale socket file it pointed to is untouched');
    } finally {
      await closed(server);
      unlinkSync(stale);
    }
  });
});

cleanup('a file put in place of the socket file survives close()', async () => {
  await leakFreeTwice(async () => {
    const path = socketPath();
    const server = await startUnixServer(echo, path);
    unlinkSync(path);
    writeFileSync(path, 'not the server\'s');
    await closed(server);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.is(readFileSync(path, 'utf8'), 'not the server\'s');
    unlinkSync(path);
  });
});

cleanup('another server\'s socket put in its place survives close(), and still serves', async () => {
  await leakFreeTwice(async () => {
    const path = socketPath();
    const first = await startUnixServer(echo, path);
    // The second server replaces the (to it, stale) socket file of the first.
    const second = await startUnixServer(echo, path);
    await closed(first);
    assert.ok(lstatSync(path).isSocket(), 'the second server\'s file stays');
    await assertServes(path);
    await closed(second);
    assert.not.ok(existsSync(path));
  });
});

cleanup('a file that is not a socket at the path fails startUnixServer() and stays as it was', async () => {
  await leakFreeTwice(async () => {
    const path = socketPath();
    writeFileSync(path, 'data');
    const error = (await rejection(startUnixServer(echo, path))) as { code?: unknown; name?: unknown };
    assert.ok(error.code === 'EADDRINUSE' || error.name === 'AddrInUse', `address in use, got ${String(error)}`);
    assert.is(readFileSync(path, 'utf8'), 'data');
    assert.equal(strays(path), [], 'the server left nothing beside it');
    unlinkSync(path);
  });
});

cleanup('cleanupSocket must be a boolean', async () => {
  const error = await rejection(startUnixServer(echo, socketPath(), { cleanupSocket: 'no' as unknown as boolean }));
  assert.instance(error, TypeError);
  assert.match((error as Error).message, /^cleanupSocket must be a boolean/);
});

cleanup('cleanupSocket: false with a sock is refused: the runtime removes its listener\'s file as it closes', async () => {
  // Refused before the sock is looked at.
  const error = await rejection(startUnixServer(echo, null, { sock: {} as never, cleanupSocket: false }));
  assert.instance(error, RangeError);
  assert.match((error as Error).message, /^cleanupSocket: false is not supported with sock/);
});

cleanup.after(() => directory.remove());

cleanup.run();
