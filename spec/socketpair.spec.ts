import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Socket as NetSocket } from 'node:net';
import { openConnection, socketpair } from '../lib/runtime/node.ts';
import { rejection, text, within } from './_loopback.ts';

function nextData(socket: NetSocket): Promise<string> {
  return within(new Promise((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString()))));
}

const pair = suite('socketpair');

for (const kind of ['unix', 'tcp'] as const) {
  pair(`gives two connected ${kind} sockets that talk both ways`, async () => {
    const [a, b] = await socketpair({ kind });
    try {
      a.write('from a');
      assert.is(await nextData(b), 'from a');
      b.write('from b');
      assert.is(await nextData(a), 'from b');
      assert.is(kind === 'tcp', a.remoteAddress === '127.0.0.1');
    } finally {
      a.destroy();
      b.destroy();
    }
  });

  pair(`gives ${kind} sockets that can half-close`, async () => {
    const [a, b] = await socketpair({ kind });
    try {
      a.end('last');
      let received = '';
      b.on('data', (chunk: Buffer) => (received += chunk.toString()));
      await within(new Promise((resolve) => b.once('end', resolve)));
      assert.is(received, 'last');
      b.end('reply after EOF');
      assert.is(await nextData(a), 'reply after EOF');
    } finally {
      a.destroy();
      b.destroy();
    }
  });
}

pair('defaults to a Unix socket off Windows', async () => {
  const [a, b] = await socketpair();
  try {
    if (process.platform !== 'win32') assert.is(a.remoteAddress, undefined);
    assert.is(a.destroyed || b.destroyed, false);
  } finally {
    a.destroy();
    b.destroy();
  }
});

pair('plugs into openConnection({ sock }): the "wait for data" example', async () => {
  const [rsock, wsock] = await socketpair();
  try {
    const [reader, writer] = await openConnection(null, null, { sock: rsock });
    setTimeout(() => wsock.write('abc'), 10);
    assert.is(text(await within(reader.read(100))), 'abc');
    writer.close();
    await within(writer.waitClosed());
  } finally {
    rsock.destroy();
    wsock.destroy();
  }
});

pair('refuses an unknown kind', async () => {
  assert.instance(await rejection(socketpair({ kind: 'udp' as never })), RangeError);
});

pair.run();
