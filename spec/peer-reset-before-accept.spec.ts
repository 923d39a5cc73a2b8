/**
 * Clients (CPython sockets, any python3) that connect and reset at once, before the server
 * has accepted them, as port scanners and flaky clients do, against the servers of every
 * runtime (see `_runtime.ts`), plain and TLS. They must cost the server nothing: the next
 * client is answered at once and `onError` hears of none of them. (On Deno such a connection
 * fails `accept()` with ENOTCONN, which the accept loop took for running out of descriptors:
 * it paused accepting for a second per reset, so ten of them kept the next client waiting 9 s.)
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Server, StreamReader, StreamWriter } from '../lib/index.ts';
import { runPeer } from './_peer-process.ts';
import { text, within } from './_loopback.ts';
import { runtime, startServer } from './_runtime.ts';
import { SERVER as serverTls } from './_tls.ts';

const RESETS = 10;
/** Well under the second a paused accept loop waits, well over a loaded machine's answer. */
const ANSWER_BOUND_MS = 700;

/** `RESETS` connections reset at once (SO_LINGER 0), then one client that sends a line and times the answer. */
const CLIENTS = String.raw`
import socket, ssl, struct, sys, time
port, secure, resets = int(sys.argv[1]), sys.argv[2] == 'tls', int(sys.argv[3])
for _ in range(resets):
    s = socket.create_connection(('127.0.0.1', port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.close()
time.sleep(0.2)
start = time.monotonic()
client = socket.create_connection(('127.0.0.1', port))
if secure:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    client = context.wrap_socket(client, server_hostname='localhost')
client.settimeout(20)
client.sendall(b'ping\n')
answer = b''
while not answer.endswith(b'\n'):
    answer += client.recv(100)
print(answer.decode().strip(), round((time.monotonic() - start) * 1000), flush=True)
client.close()
`;

const resets = suite(`Clients that reset before they are accepted cost the server nothing (${runtime})`);

for (const kind of ['plain', 'tls'] as const) {
  resets(`${kind}: after ${RESETS} of them the next client is answered at once, and onError hears of none`, async () => {
    const errors: string[] = [];
    const server: Server = await startServer(
      async (reader: StreamReader, writer: StreamWriter) => {
        const line = await reader.readline().catch(() => new Uint8Array(0));
        if (line.length > 0) writer.write(`pong ${text(line)}`);
        writer.close();
      },
      '127.0.0.1',
      0,
      { ...(kind === 'tls' ? { ssl: serverTls } : {}), onError: (error, context) => void errors.push(`${String((error as { code?: unknown }).code)}: ${context.message}`) },
    );
    try {
      const port = (server.sockets[0]!.getsockname() as [string, number])[1];
      const client = await runPeer('python3', ['-c', CLIENTS, String(port), kind, String(RESETS)], { ms: 30_000 });
      assert.is(client.code, 0, client.stderr);
      const answered = /^pong ping (\d+)$/.exec(client.stdout.trim());
      assert.ok(answered, `the next client's answer: ${client.stdout}`);
      const ms = Number(answered[1]);
      assert.ok(ms < ANSWER_BOUND_MS, `the next client was answered after ${ms} ms`);
      assert.equal(errors, []);
    } finally {
      server.close();
      await within(server.waitClosed());
    }
  });
}

resets.run();
