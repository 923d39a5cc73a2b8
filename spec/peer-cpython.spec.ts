/**
 * CPython's asyncio streams as the peer, both ways, over TCP and Unix sockets: our client
 * against `asyncio.start_server`, `asyncio.open_connection` against our `startServer`, with
 * the protocol of spec/fixtures/asyncio-peer.py (a line each way, length-prefixed frames
 * answered by their SHA-256 and CRLF, then a half-close answered after EOF). CPython 3.13 by
 * pyenv where it is installed (`PYENV_VERSION=3.13.0`), else the system's python3. Runs on
 * Node, Deno and Bun.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import type { StreamReader, StreamWriter } from '../lib/index.ts';
import { peerLeakFree, runPeer, startPeer } from './_peer-process.ts';
import { openConnection, openUnixConnection, runtime, startServer, startUnixServer } from './_runtime.ts';
import { bytes, tempDir, text, within } from './_loopback.ts';

const SCRIPT = fileURLToPath(new URL('fixtures/asyncio-peer.py', import.meta.url));
const PYTHON_ENV = { PYENV_VERSION: '3.13.0' };
/** Far above what an exchange takes (~1 s for CPython to hash 4 MiB and start), so only a hang trips it. */
const LIMIT_MS = 30_000;

/** The frames our client sends: CRLF and every byte value, one byte, 4 MiB. */
function payloads(): Uint8Array[] {
  const big = new Uint8Array(4 * 1024 * 1024);
  for (let i = 0; i < big.byteLength; i++) big[i] = (i * 7) % 251;
  return [new Uint8Array([13, 10, ...Array.from({ length: 256 }, (_, i) => i)]), new Uint8Array([0]), big];
}

async function sha256(data: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

function frame(payload: Uint8Array): Uint8Array {
  const framed = new Uint8Array(4 + payload.byteLength);
  new DataView(framed.buffer).setUint32(0, payload.byteLength);
  framed.set(payload, 4);
  return framed;
}

/** The client's side of the protocol, as asyncio-peer.py's `client()` does it. */
async function clientExchange(reader: StreamReader, writer: StreamWriter): Promise<string[]> {
  const lines: string[] = [];
  writer.write('HELLO\n');
  lines.push(text(await reader.readline()).trimEnd());
  let total = 0;
  for (const payload of payloads()) {
    writer.write(frame(payload));
    await writer.drain();
    const digest = text(await reader.readuntil('\r\n')).trimEnd();
    lines.push(`frame ${payload.byteLength} ${digest === (await sha256(payload)) ? 'ok' : `MISMATCH ${digest}`}`);
    total += payload.byteLength;
  }
  writer.write(frame(new Uint8Array(0)));
  writer.writeEof();
  lines.push(text(await reader.readline()).trimEnd());
  lines.push(`eof ${(await reader.read()).byteLength === 0 ? 'True' : 'False'}`);
  assert.is(lines.at(-2), `BYE ${total}`);
  return lines;
}

/** The server's side, as asyncio-peer.py's `serve_one()` does it. */
async function serveOne(reader: StreamReader, writer: StreamWriter): Promise<void> {
  const hello = await reader.readline();
  writer.write(new Uint8Array([...bytes('HELLO from asyncio-streams to '), ...hello]));
  let total = 0;
  for (;;) {
    const header = await reader.readexactly(4);
    const size = new DataView(header.buffer, header.byteOffset, 4).getUint32(0);
    if (size === 0) break;
    const payload = await reader.readexactly(size);
    total += size;
    writer.write(`${await sha256(payload)}\r\n`);
    await writer.drain();
  }
  // The client half-closed: EOF, then our answer still goes out.
  assert.is((await reader.read()).byteLength, 0);
  writer.write(`BYE ${total}\n`);
  await writer.drain();
  writer.close();
  await writer.waitClosed();
}

for (const kind of ['tcp', 'unix'] as const) {
  const test = suite(`CPython asyncio streams over ${kind} (${runtime})`);

  test('our client against asyncio.start_server', async () => {
    const dir = tempDir();
    const args = [SCRIPT, 'server', kind, ...(kind === 'unix' ? [dir.path('py.sock')] : [])];
    const python = await startPeer('python3', args, { env: PYTHON_ENV, ready: /^SERVING \S+ CPython \S+$/m });
    try {
      const [, where, version] = (await python.waitFor(/^SERVING (\S+) CPython (\S+)$/m))!;
      await peerLeakFree(async () => {
        const [reader, writer] = await within(kind === 'unix' ? openUnixConnection(where!) : openConnection('127.0.0.1', Number(where)));
        try {
          const lines = await within(clientExchange(reader, writer), LIMIT_MS, 'the exchange with CPython');
          assert.equal(lines, [
            `HELLO from CPython ${version} to HELLO`,
            'frame 258 ok',
            'frame 1 ok',
            'frame 4194304 ok',
            `BYE ${258 + 1 + 4194304}`,
            'eof True',
          ]);
        } finally {
          writer.close();
          await within(writer.waitClosed()).catch(() => {});
        }
      });
    } finally {
      await python.stop();
      dir.remove();
    }
  });

  test('asyncio.open_connection against our startServer', async () => {
    const dir = tempDir();
    try {
      await peerLeakFree(async () => {
        const server = kind === 'unix' ? await startUnixServer(serveOne, dir.path('ours.sock')) : await startServer(serveOne, '127.0.0.1', 0);
        try {
          const name = server.sockets[0]!.getsockname();
          const where = kind === 'unix' ? (name as string) : String((name as [string, number])[1]);
          const outcome = await runPeer('python3', [SCRIPT, 'client', kind, where], { env: PYTHON_ENV, ms: LIMIT_MS });
          assert.is(outcome.stderr, '');
          assert.is(outcome.code, 0);
          assert.equal(outcome.stdout.trimEnd().split('\n'), [
            'HELLO from asyncio-streams to HELLO',
            'frame 258 ok',
            'frame 4194304 ok',
            `BYE ${258 + 4194304}`,
            'eof True',
          ]);
        } finally {
          server.close();
          await within(server.waitClosed());
        }
      });
    } finally {
      dir.remove();
    }
  });

  test.run();
}
