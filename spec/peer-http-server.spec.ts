/**
 * curl and socat, started by the spec, against an HTTP/1.1 server on `startServer`: uploads
 * with Content-Length and chunked, `Expect: 100-continue`, 50 MiB, keep-alive across URLs, a
 * Unix socket, and socat's half-close over TCP and Unix (the server reads to EOF and still
 * answers). The server reads the request
 * bodies with the framings of `examples/http-client.ts`. Runs on Node, Deno and Bun.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import type { Server } from '../lib/index.ts';
import { FNV_START, fnv1a, uploadServer, type Seen } from './_http-upload-server.ts';
import { peerLeakFree, runPeer } from './_peer-process.ts';
import { runtime, startServer, startUnixServer } from './_runtime.ts';
import { tempDir, within } from './_loopback.ts';

/** Far above the ~1 s a 50 MiB upload takes on a loaded machine, so only a hang trips it. */
const LIMIT_MS = 60_000;

/** Runs `body` against a fresh upload server, then closes it and checks that nothing leaked. */
async function withServer(body: (port: number, seen: Seen[]) => Promise<void>): Promise<void> {
  const seen: Seen[] = [];
  await peerLeakFree(async () => {
    const server: Server = await startServer(uploadServer(seen), '127.0.0.1', 0);
    try {
      await body((server.sockets[0]!.getsockname() as [string, number])[1], seen);
    } finally {
      server.close();
      await within(server.waitClosed());
    }
  });
}

/** `withServer` on a Unix socket in a temp dir. */
async function withUnixServer(body: (path: string, seen: Seen[]) => Promise<void>): Promise<void> {
  const seen: Seen[] = [];
  const where = tempDir();
  try {
    await peerLeakFree(async () => {
      const server: Server = await startUnixServer(uploadServer(seen), where.path('http.sock'));
      try {
        await body(where.path('http.sock'), seen);
      } finally {
        server.close();
        await within(server.waitClosed());
      }
    });
  } finally {
    where.remove();
  }
}

/** A file of `size` bytes, every byte value in it, in a temp dir; with its checksum. */
function uploadFile(dir: ReturnType<typeof tempDir>, name: string, size: number): { path: string; checksum: number } {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + (i >>> 11)) & 0xff;
  const path = dir.path(name);
  writeFileSync(path, data);
  return { path, checksum: fnv1a(FNV_START, data) };
}

function curl(args: string[]): ReturnType<typeof runPeer> {
  return runPeer('curl', ['-sS', '--fail', ...args], { ms: LIMIT_MS });
}

const uploads = suite(`curl uploads to an HTTP/1.1 server on startServer (${runtime})`);
let dir: ReturnType<typeof tempDir> | undefined;
uploads.before(() => {
  dir = tempDir();
});
uploads.after(() => dir?.remove());

uploads('a Content-Length upload, without Expect', async () => {
  const file = uploadFile(dir!, 'small.bin', 100_000);
  await withServer(async (port, seen) => {
    const outcome = await curl(['-H', 'Expect:', '--data-binary', `@${file.path}`, `http://127.0.0.1:${port}/plain`]);
    assert.is(outcome.stderr, '');
    assert.is(outcome.stdout, `POST /plain: 100000 bytes, fnv1a ${file.checksum.toString(16)}\n`);
    assert.is(seen[0]!.headers.get('content-length'), '100000');
    assert.is(seen[0]!.headers.get('expect'), null);
  });
});

uploads('a chunked upload decodes with readuntil and readexactly', async () => {
  const file = uploadFile(dir!, 'chunked.bin', 300_000);
  await withServer(async (port, seen) => {
    const outcome = await curl(['-H', 'Expect:', '-H', 'Transfer-Encoding: chunked', '--data-binary', `@${file.path}`, `http://127.0.0.1:${port}/chunked`]);
    assert.is(outcome.stderr, '');
    assert.is(outcome.stdout, `POST /chunked: 300000 bytes, fnv1a ${file.checksum.toString(16)}\n`);
    assert.is(seen[0]!.headers.get('transfer-encoding'), 'chunked');
    assert.is(seen[0]!.headers.get('content-length'), null);
  });
});

uploads('Expect: 100-continue: curl sends the body only after our 100 Continue', async () => {
  const file = uploadFile(dir!, 'expect.bin', 200_000);
  await withServer(async (port, seen) => {
    // curl's wait for the 100 is 30 s here: without our 100 Continue the spec would time out.
    const started = Date.now();
    const outcome = await curl(['-v', '--expect100-timeout', '30', '-H', 'Expect: 100-continue', '--data-binary', `@${file.path}`, `http://127.0.0.1:${port}/expect`]);
    assert.is(outcome.code, 0, outcome.stderr);
    assert.ok(Date.now() - started < 20_000, 'curl did not wait out its 100-continue timeout');
    assert.match(outcome.stderr, /^< HTTP\/1\.1 100 Continue\r?$/m);
    assert.is(outcome.stdout, `POST /expect: 200000 bytes, fnv1a ${file.checksum.toString(16)}\n`);
    assert.is(seen[0]!.headers.get('expect'), '100-continue');
  });
});

uploads('a 50 MiB upload (curl -T, with its own Expect: 100-continue) arrives whole', async () => {
  const size = 50 * 1024 * 1024;
  const file = uploadFile(dir!, 'big.bin', size);
  await withServer(async (port, seen) => {
    const outcome = await curl(['--expect100-timeout', '30', '-T', file.path, `http://127.0.0.1:${port}/big`]);
    assert.is(outcome.stderr, '');
    assert.is(outcome.stdout, `PUT /big: ${size} bytes, fnv1a ${file.checksum.toString(16)}\n`);
    assert.is(seen[0]!.size, size);
    assert.is(seen[0]!.headers.get('expect'), '100-continue');
  });
});

uploads('keep-alive: curl sends several requests on one connection', async () => {
  await withServer(async (port, seen) => {
    const outcome = await curl(['-v', `http://127.0.0.1:${port}/one`, `http://127.0.0.1:${port}/two`, `http://127.0.0.1:${port}/three`]);
    assert.is(outcome.code, 0, outcome.stderr);
    assert.is(outcome.stdout, 'GET /one: 0 bytes, fnv1a 811c9dc5\nGET /two: 0 bytes, fnv1a 811c9dc5\nGET /three: 0 bytes, fnv1a 811c9dc5\n');
    assert.match(outcome.stderr, /Re-using existing connection/);
    assert.equal(seen.map((request) => request.path), ['/one', '/two', '/three']);
  });
});

uploads('curl --unix-socket: a chunked upload over a Unix socket', async () => {
  const file = uploadFile(dir!, 'unix.bin', 1_000_000);
  await withUnixServer(async (path, seen) => {
    const outcome = await curl(['-H', 'Expect:', '-H', 'Transfer-Encoding: chunked', '--unix-socket', path, '--data-binary', `@${file.path}`, 'http://localhost/unix']);
    assert.is(outcome.stderr, '');
    assert.is(outcome.stdout, `POST /unix: 1000000 bytes, fnv1a ${file.checksum.toString(16)}\n`);
    assert.is(seen[0]!.headers.get('host'), 'localhost');
  });
});

const halfClose = suite(`socat's half-close against an HTTP/1.1 server on startServer (${runtime})`);

/** A request socat sends before its stdin ends; then it half-closes and waits up to -t seconds for the rest. */
const AFTER_EOF_REQUEST = 'POST /after-eof HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 11\r\n\r\nhello world';

function assertAnsweredAfterEof(outcome: Awaited<ReturnType<typeof runPeer>>, seen: Seen[]): void {
  assert.is(outcome.stderr, '');
  assert.is(outcome.code, 0);
  assert.match(outcome.stdout, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(outcome.stdout, /\r\n\r\nPOST \/after-eof: 11 bytes, fnv1a [0-9a-f]+, after EOF\n$/);
  assert.is(seen.length, 1);
  assert.ok(seen[0]!.eof, 'the server had seen EOF when it answered');
}

halfClose('over TCP: the server reads to EOF after the request and still answers', async () => {
  await withServer(async (port, seen) => {
    const outcome = await runPeer('socat', ['-t', '30', '-', `TCP:127.0.0.1:${port}`], { input: AFTER_EOF_REQUEST, ms: LIMIT_MS });
    assertAnsweredAfterEof(outcome, seen);
  });
});

halfClose('over a Unix socket: the server reads to EOF after the request and still answers', async () => {
  await withUnixServer(async (path, seen) => {
    const outcome = await runPeer('socat', ['-t', '30', '-', `UNIX-CONNECT:${path}`], { input: AFTER_EOF_REQUEST, ms: LIMIT_MS });
    assertAnsweredAfterEof(outcome, seen);
  });
});

uploads.run();
halfClose.run();
