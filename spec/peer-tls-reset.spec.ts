/**
 * A TLS client (CPython's `ssl`, any python3) that resets the connection (SO_LINGER 0) after
 * its handshake, against the TLS servers of every runtime (see `_runtime.ts`): one started with
 * `ssl`, and one that upgrades with `writer.startTls()` after STARTTLS. The reset must reach
 * the server as ECONNRESET: a cut-off request is never read as a whole one ending at EOF, and a
 * server writing to the client stops with an error instead of writing on into nothing. (On
 * Deno, the server's TLS socket over the `Deno.Conn` heard of the close and not of the reset;
 * on Bun, one over Bun's own socket wrote on without waiting for it.)
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Server, StreamReader, StreamWriter } from '../lib/index.ts';
import { runPeer } from './_peer-process.ts';
import { text, watchUnhandled, within } from './_loopback.ts';
import { runtime, startServer } from './_runtime.ts';
import { SERVER as serverTls } from './_tls.ts';

/** The most a server writes to a client that never reads before the spec calls it endless. */
const WRITE_BOUND = 64 * 1024 * 1024;

/** The client: TLS (after STARTTLS for the `starttls` route), half a request or a line, then a reset. */
const CLIENT = String.raw`
import socket, ssl, struct, sys, time
port, route, scenario = int(sys.argv[1]), sys.argv[2], sys.argv[3]
raw = socket.create_connection(('127.0.0.1', port))
if route == 'starttls':
    raw.sendall(b'STARTTLS\n')
    answer = b''
    while not answer.endswith(b'\n'):
        answer += raw.recv(1)
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
secure = context.wrap_socket(raw, server_hostname='localhost')
if scenario == 'half-request':
    secure.sendall(b'GET /transfer?amount=1000')
    time.sleep(0.2)
else:
    secure.sendall(b'send\n')
    time.sleep(0.5)
secure.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
secure.close()
print('RESET', flush=True)
`;

type Route = 'ssl' | 'starttls';
type Scenario = 'half-request' | 'never-reads';

/** Serves one client by `scenario` on `route`; resolves with what the server saw. */
async function serveResetClient(route: Route, scenario: Scenario): Promise<string> {
  const watch = watchUnhandled();
  let report!: (seen: string) => void;
  const seen = new Promise<string>((resolve) => (report = resolve));
  const describe = (error: unknown): string => `rejected ${String((error as { code?: unknown }).code)}`;
  const server: Server = await startServer(
    async (reader: StreamReader, writer: StreamWriter) => {
      try {
        if (route === 'starttls') {
          if (text(await reader.readline()) !== 'STARTTLS\n') throw new Error('no STARTTLS');
          writer.write('GO\n');
          await writer.startTls(serverTls);
        }
        if (scenario === 'half-request') {
          const line = await reader.readline();
          report(`read ${JSON.stringify(text(line))}${reader.atEof() ? ' then EOF' : ''}`);
        } else {
          await reader.readline();
          const chunk = new Uint8Array(65536);
          let written = 0;
          try {
            while (written < WRITE_BOUND) {
              writer.write(chunk);
              written += chunk.length;
              await writer.drain();
            }
            report(`wrote ${written} bytes into the reset connection`);
          } catch (error) {
            report(`drain ${describe(error)}`);
          }
        }
      } catch (error) {
        report(describe(error));
      }
      writer.close();
      await writer.waitClosed().catch(() => {});
    },
    '127.0.0.1',
    0,
    route === 'ssl' ? { ssl: serverTls, onError: () => {} } : { onError: () => {} },
  );
  try {
    const port = (server.sockets[0]!.getsockname() as [string, number])[1];
    const client = await runPeer('python3', ['-c', CLIENT, String(port), route, scenario], { ms: 15_000 });
    assert.match(client.stdout, /RESET/, `the client ran: ${client.stderr}`);
    return await within(seen, 10_000, 'the server seeing the reset');
  } finally {
    server.close();
    server.abortClients();
    await within(server.waitClosed(), 5000, 'waitClosed()');
    await watch.stop();
  }
}

const reset = suite(`A TLS client that resets, against our TLS servers (${runtime})`);

for (const route of ['ssl', 'starttls'] as const) {
  reset(`${route}: a reset after half a request fails the read with ECONNRESET, never EOF`, async () => {
    assert.is(await serveResetClient(route, 'half-request'), 'rejected ECONNRESET');
  });

  reset(`${route}: a server writing to a client that never reads waits, then stops with the reset`, async () => {
    // On Bun after startTls(), TLS runs over Bun's own socket, and Bun's TLS socket does not
    // wait for it to take its writes: without the socket's backlog counted, this wrote on.
    const seen = await serveResetClient(route, 'never-reads');
    assert.match(seen, /^drain rejected (ECONNRESET|EPIPE)$/, seen);
  });
}

reset.run();
