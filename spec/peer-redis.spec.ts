/**
 * A real redis-server, started by the spec on a loopback port and a Unix socket in a temp dir,
 * and the RESP2 client of `examples/redis-client.ts` (on `readuntil`/`readexactly`) against it,
 * over TCP and over the Unix socket. Runs on Node, Deno and Bun.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { RedisClient, RespError, readReply, encodeCommand, type RespValue } from '../examples/redis-client.ts';
import { accepts, freePort, peerLeakFree, runExample, startPeer, type PeerProcess } from './_peer-process.ts';
import { openConnection, openUnixConnection, runtime } from './_runtime.ts';
import { bytes, tempDir, text, within } from './_loopback.ts';

/** Far above what each step takes (an 8 MiB round trip is ~50 ms), so only a hang trips it. */
const LIMIT_MS = 30_000;

interface Redis {
  peer: PeerProcess;
  port: number;
  socketPath: string;
  dir: ReturnType<typeof tempDir>;
}

async function startRedis(): Promise<Redis> {
  const dir = tempDir();
  const socketPath = dir.path('redis.sock');
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--unixsocket', socketPath, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir.path('')];
  try {
    const peer = await startPeer('redis-server', args, {
      ready: async () => existsSync(socketPath) && (await accepts({ port })) && (await accepts({ path: socketPath })),
    });
    return { peer, port, socketPath, dir };
  } catch (error) {
    dir.remove();
    throw error;
  }
}

/**
 * The one redis-server of this file, started by the first test that needs it (not in a `before`
 * hook: uvu drops a hook's error silently, and a missing redis-server must fail every test
 * loudly) and stopped by the last suite's `after`.
 */
let redis: Promise<Redis> | undefined;

function server(): Promise<Redis> {
  redis ??= startRedis();
  return redis;
}

/** The two ways to reach the server: each test below runs over both. */
const transports = {
  tcp: async () => {
    const [reader, writer] = await within(openConnection('127.0.0.1', (await server()).port));
    return new RedisClient(reader, writer);
  },
  unix: async () => {
    const [reader, writer] = await within(openUnixConnection((await server()).socketPath));
    return new RedisClient(reader, writer);
  },
};

/** Runs `body` with a fresh client, closes it after, and checks that nothing leaked. */
async function withClient(connect: () => Promise<RedisClient>, body: (redis: RedisClient) => Promise<void>): Promise<void> {
  // Started (by the first test) before the count of descriptors: its pipes are not a leak.
  await server();
  await peerLeakFree(async () => {
    const client = await connect();
    try {
      await within(body(client), LIMIT_MS, 'the exchange with redis-server');
    } finally {
      await within(client.close());
    }
  });
}

function allBytes(): Uint8Array {
  return Uint8Array.from({ length: 256 }, (_, i) => i);
}

function sameBytes(actual: RespValue, expected: Uint8Array, what: string): void {
  assert.ok(actual instanceof Uint8Array, `${what} is bytes`);
  const got = actual as Uint8Array;
  assert.is(got.byteLength, expected.byteLength, `${what}: length`);
  const first = got.findIndex((byte, i) => byte !== expected[i]);
  assert.is(first, -1, `${what}: first differing byte`);
}

for (const [name, connect] of Object.entries(transports)) {
  const test = suite(`redis-server over ${name} (${runtime})`);
  const key = (what: string) => `${name}:${what}`;

  test('PING answers PONG, and PING with a message echoes it as a bulk string', async () => {
    await withClient(connect, async (client) => {
      assert.is(await client.call('PING'), 'PONG');
      assert.is(text((await client.call('PING', 'hello\r\nthere')) as Uint8Array), 'hello\r\nthere');
    });
  });

  test('SET and GET keep a binary value holding CRLF and all 256 byte values', async () => {
    await withClient(connect, async (client) => {
      const value = new Uint8Array([13, 10, ...allBytes(), 13, 10, 36, 42, 13, 10]);
      assert.is(await client.call('SET', key('binary'), value), 'OK');
      sameBytes(await client.call('GET', key('binary')), value, 'the value');
      assert.is(await client.call('STRLEN', key('binary')), value.byteLength);
      assert.is(await client.call('GET', key('missing')), null);
    });
  });

  test('an 8 MiB value goes in and comes back whole', async () => {
    await withClient(connect, async (client) => {
      const value = new Uint8Array(8 * 1024 * 1024);
      for (let i = 0; i < value.byteLength; i++) value[i] = (i * 7 + (i >> 13)) & 0xff;
      assert.is(await client.call('SET', key('big'), value), 'OK');
      sameBytes(await client.call('GET', key('big')), value, 'the 8 MiB value');
      assert.is(await client.call('DEL', key('big')), 1);
    });
  });

  test('10,000 commands written at once, then every reply read in order', async () => {
    await withClient(connect, async (client) => {
      const commands: string[][] = [];
      for (let i = 0; i < 10_000; i++) commands.push(i % 2 === 0 ? ['INCR', key('counter')] : ['ECHO', `reply ${i}`]);
      commands.unshift(['DEL', key('counter')]);
      const replies = await client.pipeline(commands);
      assert.is(replies.length, 10_001);
      for (let i = 0; i < 10_000; i++) {
        const reply = replies[i + 1]!;
        if (i % 2 === 0) assert.is(reply, i / 2 + 1, `reply ${i}`);
        else assert.is(text(reply as Uint8Array), `reply ${i}`, `reply ${i}`);
      }
      assert.is(text((await client.call('GET', key('counter'))) as Uint8Array), '5000');
    });
  });

  test('a 1,000-item array reply reads whole and in order', async () => {
    await withClient(connect, async (client) => {
      await client.call('DEL', key('list'));
      const items = Array.from({ length: 1000 }, (_, i) => `item ${i}${i % 10 === 0 ? '\r\n' : ''}`);
      assert.is(await client.call('RPUSH', key('list'), ...items), 1000);
      const reply = await client.call('LRANGE', key('list'), '0', '-1');
      assert.ok(Array.isArray(reply));
      assert.equal((reply as Uint8Array[]).map(text), items);
    });
  });

  test('SUBSCRIBE on one connection receives what PUBLISH sends on a second one', async () => {
    await withClient(connect, async (subscriber) => {
      await withClient(connect, async (publisher) => {
        const channel = key('channel');
        subscriber.writer.write(encodeCommand('SUBSCRIBE', channel));
        const confirmation = (await subscriber.next()) as RespValue[];
        assert.equal([text(confirmation[0] as Uint8Array), text(confirmation[1] as Uint8Array), confirmation[2]], ['subscribe', channel, 1]);
        const payload = new Uint8Array([...bytes('news\r\n'), ...allBytes()]);
        assert.is(await publisher.call('PUBLISH', channel, payload), 1);
        assert.is(await publisher.call('PUBLISH', channel, 'second'), 1);
        const first = (await subscriber.next()) as Uint8Array[];
        assert.is(text(first[0]!), 'message');
        assert.is(text(first[1]!), channel);
        sameBytes(first[2]!, payload, 'the published payload');
        const second = (await subscriber.next()) as Uint8Array[];
        assert.is(text(second[2]!), 'second');
      });
    });
  });

  test('an error reply is a RespError, and the connection goes on', async () => {
    await withClient(connect, async (client) => {
      const error = await client.call('NO-SUCH-COMMAND', 'x').catch((e: unknown) => e);
      assert.instance(error, RespError);
      assert.match((error as RespError).message, /^ERR unknown command/);
      await client.call('SET', key('text'), 'not a number');
      const wrong = await client.call('INCR', key('text')).catch((e: unknown) => e);
      assert.match((wrong as RespError).message, /^ERR value is not an integer/);
      // Inside a pipeline an error is one reply among the others.
      const replies = await client.pipeline([['PING'], ['INCR', key('text')], ['ECHO', 'after']]);
      assert.is(replies[0], 'PONG');
      assert.instance(replies[1], RespError);
      assert.is(text(replies[2] as Uint8Array), 'after');
    });
  });

  test('the reply reader parses what it reads from the raw connection, byte for byte', async () => {
    // readReply on a plain reader: QUIT's +OK, then the server's close is the reader's EOF.
    await withClient(connect, async (client) => {
      client.writer.write(encodeCommand('QUIT'));
      assert.is(await readReply(client.reader), 'OK');
      assert.is((await client.reader.read()).byteLength, 0);
      assert.ok(client.reader.atEof());
    });
  });

  if (name === 'tcp') {
    test('examples/redis-client.ts runs against it and prints the replies', async () => {
      const outcome = await runExample('redis-client', ['127.0.0.1', String((await server()).port)]);
      assert.is(outcome.stderr, '');
      assert.is(outcome.code, 0);
      assert.equal(outcome.stdout.trimEnd().split('\n'), ['PING -> PONG', 'SET greeting -> OK', 'GET greeting -> "Hello\\r\\nWorld"']);
    });
  } else {
    test.after(async () => {
      const starting = redis;
      redis = undefined;
      const running = await starting?.catch(() => undefined);
      if (running === undefined) return;
      try {
        await running.peer.stop();
        assert.ok(!running.peer.running, 'redis-server stopped');
      } finally {
        running.dir.remove();
      }
    });
  }

  test.run();
}
