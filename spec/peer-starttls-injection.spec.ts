/**
 * A STARTTLS server (CPython's `ssl`, any python3) that injects plain bytes after its answer
 * to STARTTLS, before the handshake, as a man in the middle would (the STARTTLS response
 * injection of CVE-2011-0411), against the clients of every runtime (see `_runtime.ts`). The
 * client's `writer.startTls()` must refuse to start (`ERR_TLS_UNREAD_PLAINTEXT`): read after the
 * upgrade, those bytes would pass for the server's answer over TLS. A few bytes (they sit in
 * the reader's buffer) and more than the reader's limit (its transport paused, the rest held
 * below it) alike. A server that injects nothing is upgraded to, over the same peer.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startPeer } from './_peer-process.ts';
import { rejection, text, until, within } from './_loopback.ts';
import { openConnection, runtime } from './_runtime.ts';
import { CLIENT, fixturePath } from './_tls.ts';

/** Answers STARTTLS with `220 go`, then what argv[3] asks for in the clear, then TLS and a line over it. */
const SERVER = String.raw`
import socket, ssl, sys
cert, key, injected = sys.argv[1], sys.argv[2], int(sys.argv[3])
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
listener = socket.create_server(('127.0.0.1', 0))
print('SERVING', listener.getsockname()[1], flush=True)
conn, _ = listener.accept()
request = b''
while not request.endswith(b'\n'):
    request += conn.recv(100)
conn.sendall(b'220 go\r\n' + b'250-INJECTED-IN-THE-CLEAR\r\n' * injected)
try:
    secure = context.wrap_socket(conn, server_side=True)
    secure.sendall(b'250 over TLS\r\n')
    secure.recv(100)
    secure.close()
except (ssl.SSLError, OSError):
    conn.close()
`;

const injection = suite(`A client refuses to start TLS over plain bytes injected after STARTTLS (${runtime})`);

for (const [what, lines] of [['a line in the same packet as the answer', 1], ['more than the reader takes before it pauses', 4000]] as const) {
  injection(`${what}: startTls() rejects with ERR_TLS_UNREAD_PLAINTEXT and nothing is read as TLS's`, async () => {
    const peer = await startPeer('python3', ['-c', SERVER, fixturePath('server'), fixturePath('server-key'), String(lines)], { ready: /^SERVING \d+$/m });
    try {
      const port = Number((await peer.waitFor(/^SERVING (\d+)$/m))[1]);
      const [reader, writer] = await within(openConnection('127.0.0.1', port, { limit: 1024 }));
      try {
        writer.write('STARTTLS\r\n');
        assert.is(text(await within(reader.readline())), '220 go\r\n');
        // What the peer sent after its answer reaches the reader (the rest waits below it).
        await until(() => reader._peekBuffer().byteLength > 0);
        const refused = await rejection(writer.startTls(CLIENT, { serverHostname: 'localhost' }));
        assert.is((refused as { code?: unknown }).code, 'ERR_TLS_UNREAD_PLAINTEXT', String(refused));
        assert.is(text(await within(reader.readline())), '250-INJECTED-IN-THE-CLEAR\r\n', 'read as what it is: plain bytes');
      } finally {
        writer.close();
        await within(writer.waitClosed()).catch(() => {});
      }
    } finally {
      await peer.stop();
    }
  });
}

injection('no injection: the same server is upgraded to, and its line comes over TLS', async () => {
  const peer = await startPeer('python3', ['-c', SERVER, fixturePath('server'), fixturePath('server-key'), '0'], { ready: /^SERVING \d+$/m });
  try {
    const port = Number((await peer.waitFor(/^SERVING (\d+)$/m))[1]);
    const [reader, writer] = await within(openConnection('127.0.0.1', port));
    try {
      writer.write('STARTTLS\r\n');
      assert.is(text(await within(reader.readline())), '220 go\r\n');
      await within(writer.startTls(CLIENT, { serverHostname: 'localhost' }));
      assert.is(text(await within(reader.readline())), '250 over TLS\r\n');
      assert.ok(writer.getExtraInfo('cipher'));
      writer.write('bye\n');
      await writer.drain();
    } finally {
      writer.close();
      await within(writer.waitClosed()).catch(() => {});
    }
  } finally {
    await peer.stop();
  }
});

injection.run();
