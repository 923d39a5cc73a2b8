/**
 * socat's half-close over TLS: socat sends its input, then, at the end of its stdin, TLS
 * close_notify and FIN, and waits for the rest of the answer. Our server reads to EOF, answers,
 * drains and closes; `drain()` and `waitClosed()` must return normally, as CPython 3.13's do.
 * Over TLS the peer's close_notify ends our side too (CPython's SSL transport shuts down then):
 * Node and Bun drop the answer, as CPython does; Deno delivers it. Node used to fail
 * `waitClosed()` with `ERR_STREAM_WRITE_AFTER_END`: a write after that end failed the connection.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runPeer } from './_peer-process.ts';
import { runtime, startServer } from './_runtime.ts';
import { fixturePath, SERVER } from './_tls.ts';
import { within } from './_loopback.ts';

const halfClose = suite(`socat's half-close over TLS against our TLS server (${runtime})`);

halfClose('the server reads to EOF, answers, and waitClosed() resolves as CPython wait_closed() returns', async () => {
  const outcomes: string[] = [];
  let done!: () => void;
  const handled = new Promise<void>((resolve) => (done = resolve));
  const server = await startServer(
    async (reader, writer) => {
      try {
        let got = 0;
        for (;;) {
          const chunk = await reader.read(65536);
          if (chunk.byteLength === 0) break;
          got += chunk.byteLength;
        }
        outcomes.push(`read ${got} bytes, then EOF`);
        writer.write(`answer after EOF: ${got}\n`);
        await writer.drain().then(
          () => outcomes.push('drain resolved'),
          (error: NodeJS.ErrnoException) => outcomes.push(`drain rejected: ${error.code ?? error.message}`),
        );
        writer.close();
        await writer.waitClosed().then(
          () => outcomes.push('waitClosed resolved'),
          (error: NodeJS.ErrnoException) => outcomes.push(`waitClosed rejected: ${error.code ?? error.message}`),
        );
      } finally {
        done();
      }
    },
    '127.0.0.1',
    0,
    { ssl: SERVER },
  );
  try {
    const port = (server.sockets[0]!.getsockname() as [string, number])[1];
    const socat = await runPeer('socat', ['-t', '10', '-', `OPENSSL:127.0.0.1:${port},cafile=${fixturePath('ca')},commonname=localhost`], {
      input: 'hello over tls',
      ms: 30_000,
    });
    assert.is(socat.code, 0, socat.stderr);
    await within(handled, 10_000);
    assert.equal(outcomes, ['read 14 bytes, then EOF', 'drain resolved', 'waitClosed resolved']);
  } finally {
    server.close();
    await within(server.waitClosed());
  }
});

halfClose.run();
