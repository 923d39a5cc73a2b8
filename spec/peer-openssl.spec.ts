/**
 * TLS against OpenSSL and curl, started by the spec: our client against `openssl s_server`,
 * `openssl s_client` and `curl --cacert` against our server, mutual TLS both ways (good
 * certificates only), and STARTTLS driven by `openssl s_client -starttls smtp` against the
 * server of `examples/smtp-starttls.ts` (`startServer` + `writer.startTls`). The TLS material is
 * spec/fixtures/tls. Runs on Node, Deno and Bun.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { handleSmtp, smtpStartTls, startSmtpServer } from '../examples/smtp-starttls.ts';
import type { Server, StreamReader, StreamWriter } from '../lib/index.ts';
import { peerLeakFree, runExample, runPeer, startExample, startPeer, type PeerProcess } from './_peer-process.ts';
import { openConnection, runtime, startServer } from './_runtime.ts';
import { CA, CLIENT, CLIENT_WITH_CERT, fixturePath, MUTUAL_SERVER, SERVER } from './_tls.ts';
import { sleep, text, within } from './_loopback.ts';

/** Far above what a handshake and an exchange take, so only a hang trips it. */
const LIMIT_MS = 30_000;

function portOf(server: Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

/** `openssl s_server` on 127.0.0.1 and a port from the OS, reversing each line it gets (-rev). */
async function sServer(extra: string[] = []): Promise<{ peer: PeerProcess; port: number }> {
  const args = ['s_server', '-accept', '127.0.0.1:0', '-cert', fixturePath('server'), '-key', fixturePath('server-key'), '-rev', ...extra];
  const peer = await startPeer('openssl', args, { ready: /^ACCEPT 127\.0\.0\.1:\d+$/m });
  const [, port] = (await peer.waitFor(/^ACCEPT 127\.0\.0\.1:(\d+)$/m))!;
  return { peer, port: Number(port) };
}

/** Our TLS server: the callback, with every connection's handshake checked by `startServer`. */
async function withServer(options: typeof SERVER, onClient: (reader: StreamReader, writer: StreamWriter) => Promise<void>, body: (port: number) => Promise<void>): Promise<void> {
  await peerLeakFree(async () => {
    const server = await startServer(onClient, '127.0.0.1', 0, { ssl: options });
    try {
      await body(portOf(server));
    } finally {
      server.close();
      await within(server.waitClosed());
    }
  });
}

/** Where s_client and curl find the test CA and check the name `localhost` in the certificate. */
const S_CLIENT_VERIFY = ['-CAfile', fixturePath('ca'), '-verify_return_error', '-verify_hostname', 'localhost', '-servername', 'localhost'];

const sServerSuite = suite(`our TLS client against openssl s_server (${runtime})`);

sServerSuite('verifies the certificate against the test CA and talks through TLS', async () => {
  const { peer, port } = await sServer();
  try {
    await peerLeakFree(async () => {
      const [reader, writer] = await within(openConnection('127.0.0.1', port, { ssl: CLIENT, serverHostname: 'localhost' }));
      try {
        writer.write('hello over openssl\n');
        assert.is(text(await within(reader.readline(), LIMIT_MS)), 'lssnepo revo olleh\n');
        writer.write('second line\n');
        assert.is(text(await within(reader.readline(), LIMIT_MS)), 'enil dnoces\n');
      } finally {
        writer.close();
        await within(writer.waitClosed()).catch(() => {});
      }
    });
    await peer.waitFor(/^CONNECTION CLOSED$/m);
    // s_server reports each connection on stderr (its stdout is buffered in a pipe).
    assert.match(peer.stderr(), /^Protocol version: TLSv1\.3$/m);
    assert.match(peer.stderr(), /^No peer certificate$/m);
  } finally {
    await peer.stop();
  }
});

sServerSuite('TLS 1.2: s_server limited to it, our client still verifies and talks', async () => {
  const { peer, port } = await sServer(['-tls1_2']);
  try {
    await peerLeakFree(async () => {
      const [reader, writer] = await within(openConnection('127.0.0.1', port, { ssl: CLIENT, serverHostname: 'localhost' }));
      try {
        writer.write('over TLS 1.2\n');
        assert.is(text(await within(reader.readline(), LIMIT_MS)), '2.1 SLT revo\n');
      } finally {
        writer.close();
        await within(writer.waitClosed()).catch(() => {});
      }
    });
    await peer.waitFor(/^CONNECTION CLOSED$/m);
    assert.match(peer.stderr(), /^Protocol version: TLSv1\.2$/m);
  } finally {
    await peer.stop();
  }
});

sServerSuite('mutual TLS: s_server requires a client certificate and verifies ours', async () => {
  const { peer, port } = await sServer(['-Verify', '1', '-CAfile', fixturePath('ca'), '-verify_return_error']);
  try {
    await peerLeakFree(async () => {
      const [reader, writer] = await within(openConnection('127.0.0.1', port, { ssl: CLIENT_WITH_CERT, serverHostname: 'localhost' }));
      try {
        writer.write('with a certificate\n');
        assert.is(text(await within(reader.readline(), LIMIT_MS)), 'etacifitrec a htiw\n');
      } finally {
        writer.close();
        await within(writer.waitClosed()).catch(() => {});
      }
    });
    await peer.waitFor(/^CONNECTION CLOSED$/m);
    assert.match(peer.stderr(), /^Peer certificate: CN = asyncio-streams test client$/m);
    assert.match(peer.stderr(), /^Verification: OK$/m);
  } finally {
    await peer.stop();
  }
});

const ourServer = suite(`openssl s_client and curl against our TLS server (${runtime})`);

/** Answers one line with the line in capitals, then closes. */
async function upper(reader: StreamReader, writer: StreamWriter): Promise<void> {
  const line = text(await reader.readline());
  writer.write(line.toUpperCase());
  await writer.drain();
  writer.close();
  await writer.waitClosed();
}

/** Answers one HTTP request with its request line and, for mutual TLS, the client certificate's CN. */
function https(seen: string[]) {
  return async (reader: StreamReader, writer: StreamWriter): Promise<void> => {
    const head = text(await reader.readuntil('\r\n\r\n'));
    seen.push(head);
    const cert = writer.getExtraInfo('peercert') as { subject?: { CN?: string } } | null | undefined;
    const body = `${head.split('\r\n')[0]} from ${cert?.subject?.CN ?? 'no certificate'}\n`;
    writer.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    await writer.drain();
    writer.close();
    await writer.waitClosed();
  };
}

ourServer('openssl s_client sends 2 MiB and quits: our server, whose reader fell behind, reads every byte, then the end', async () => {
  // A small limit pauses the TLS socket after a few records while s_client goes on sending;
  // Deno's node:tls lost the end of a paused TLS socket (see lib/runtime/node/deno-tls-pause.ts).
  const payload = Array.from({ length: 2 * 1024 * 16 }, (_, i) => `${String(i).padStart(62, '.')}\n`).join('');
  let received!: Promise<Uint8Array>;
  const stayAwayThenRead = (reader: StreamReader, writer: StreamWriter): Promise<void> => {
    received = sleep(200).then(() => reader.read(-1));
    return received.then(() => undefined, () => undefined).finally(() => writer.close());
  };
  await peerLeakFree(async () => {
    const server = await startServer(stayAwayThenRead, '127.0.0.1', 0, { ssl: SERVER, limit: 16 * 1024 });
    try {
      const args = ['s_client', '-connect', `127.0.0.1:${portOf(server)}`, ...S_CLIENT_VERIFY, '-quiet', '-no_ign_eof'];
      const outcome = await runPeer('openssl', args, { input: payload, ms: LIMIT_MS });
      assert.is(outcome.code, 0, outcome.stderr);
      assert.is(text(await within(received, LIMIT_MS, "the server's read(-1)")), payload);
    } finally {
      server.close();
      await within(server.waitClosed());
    }
  });
});

ourServer('openssl s_client verifies our certificate and gets an answer', async () => {
  await withServer(SERVER, upper, async (port) => {
    const outcome = await runPeer('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...S_CLIENT_VERIFY, '-quiet', '-ign_eof'], { input: 'hello from s_client\n', ms: LIMIT_MS });
    assert.is(outcome.code, 0, outcome.stderr);
    assert.is(outcome.stdout, 'HELLO FROM S_CLIENT\n');
    assert.match(outcome.stderr, /depth=0 CN = localhost\nverify return:1/);
  });
});

ourServer('TLS 1.2: openssl s_client limited to it gets an answer', async () => {
  await withServer(SERVER, upper, async (port) => {
    const outcome = await runPeer('openssl', ['s_client', '-tls1_2', '-connect', `127.0.0.1:${port}`, ...S_CLIENT_VERIFY, '-quiet', '-ign_eof'], { input: 'tls 1.2\n', ms: LIMIT_MS });
    assert.is(outcome.code, 0, outcome.stderr);
    assert.is(outcome.stdout, 'TLS 1.2\n');
  });
});

ourServer('mutual TLS: openssl s_client presents a certificate our server verifies', async () => {
  await withServer(MUTUAL_SERVER, upper, async (port) => {
    const args = ['s_client', '-connect', `127.0.0.1:${port}`, ...S_CLIENT_VERIFY, '-cert', fixturePath('client'), '-key', fixturePath('client-key'), '-quiet', '-ign_eof'];
    const outcome = await runPeer('openssl', args, { input: 'mutual\n', ms: LIMIT_MS });
    assert.is(outcome.code, 0, outcome.stderr);
    assert.is(outcome.stdout, 'MUTUAL\n');
  });
});

ourServer('curl --cacert gets an HTTPS answer from our server', async () => {
  const seen: string[] = [];
  await withServer(SERVER, https(seen), async (port) => {
    const outcome = await runPeer('curl', ['-sS', '--fail', '--cacert', fixturePath('ca'), '--resolve', `localhost:${port}:127.0.0.1`, `https://localhost:${port}/tls/path`], { ms: LIMIT_MS });
    assert.is(outcome.stderr, '');
    assert.is(outcome.code, 0);
    assert.is(outcome.stdout, 'GET /tls/path HTTP/1.1 from no certificate\n');
  });
  assert.is(seen.length, 1);
  assert.match(seen[0]!, /^Host: localhost:\d+\r$/m);
  assert.match(seen[0]!, /^User-Agent: curl\//m);
});

ourServer('mutual TLS: curl --cert is served, and the server sees its certificate', async () => {
  const seen: string[] = [];
  await withServer(MUTUAL_SERVER, https(seen), async (port) => {
    const args = ['-sS', '--fail', '--cacert', fixturePath('ca'), '--cert', fixturePath('client'), '--key', fixturePath('client-key'), '--resolve', `localhost:${port}:127.0.0.1`, `https://localhost:${port}/mutual`];
    const outcome = await runPeer('curl', args, { ms: LIMIT_MS });
    assert.is(outcome.stderr, '');
    assert.is(outcome.code, 0);
    assert.is(outcome.stdout, 'GET /mutual HTTP/1.1 from asyncio-streams test client\n');
  });
  assert.is(seen.length, 1);
});

ourServer("optional mutual TLS (rejectUnauthorized: false): curl without a certificate is served, curl with one that does not verify is refused", async () => {
  const seen: string[] = [];
  await withServer({ ...MUTUAL_SERVER, rejectUnauthorized: false }, https(seen), async (port) => {
    const curl = (...extra: string[]) =>
      runPeer('curl', ['-sS', '--fail', '--cacert', fixturePath('ca'), ...extra, '--resolve', `localhost:${port}:127.0.0.1`, `https://localhost:${port}/optional`], { ms: LIMIT_MS });
    const without = await curl();
    assert.is(without.stderr, '');
    assert.is(without.stdout, 'GET /optional HTTP/1.1 from no certificate\n');
    const untrusted = await curl('--cert', fixturePath('untrusted'), '--key', fixturePath('untrusted-key'));
    assert.is.not(untrusted.code, 0, 'refused');
    assert.is(untrusted.stdout, '');
  });
  assert.is(seen.length, 1, 'the handler ran for the client without a certificate only');
});

const starttls = suite(`STARTTLS driven by openssl s_client -starttls smtp (${runtime})`);

/** `openssl s_client -starttls smtp` against `port`, sending `input` (lines, CRLF) once TLS is up. */
function sClientStarttls(port: number, input: string): ReturnType<typeof runPeer> {
  const args = ['s_client', '-starttls', 'smtp', '-connect', `127.0.0.1:${port}`, ...S_CLIENT_VERIFY, '-crlf', '-quiet', '-ign_eof'];
  return runPeer('openssl', args, { input, ms: LIMIT_MS });
}

starttls('the server upgrades with writer.startTls(); EHLO over TLS offers AUTH, not STARTTLS', async () => {
  const transports: unknown[] = [];
  await withPlainServer(
    async (reader, writer) => {
      transports.push(writer.transport);
      await handleSmtp(reader, writer, SERVER);
      transports.push(writer.transport);
    },
    async (port) => {
      const outcome = await sClientStarttls(port, 'EHLO after.tls\nNOOP\nSTARTTLS\nQUIT\n');
      assert.is(outcome.code, 0, outcome.stderr);
      assert.equal(outcome.stdout.split('\r\n'), [
        '250-localhost greets after.tls',
        '250-8BITMIME',
        '250 AUTH PLAIN',
        '250 OK',
        '503 Already in TLS',
        '221 Bye',
        '',
      ]);
      assert.match(outcome.stderr, /depth=0 CN = localhost\nverify return:1/);
    },
  );
  assert.is(transports.length, 2);
  assert.is.not(transports[1], transports[0], 'the writer moved to the TLS socket');
});

starttls('examples/smtp-starttls.ts serves s_client, and its client talks to it', async () => {
  const example = await startExample('smtp-starttls', ['serve', fixturePath('server'), fixturePath('server-key'), '0'], { ready: /^Serving on 127\.0\.0\.1:\d+$/m });
  try {
    const [, port] = (await example.waitFor(/^Serving on 127\.0\.0\.1:(\d+)$/m))!;
    const outcome = await sClientStarttls(Number(port), 'EHLO s_client\nQUIT\n');
    assert.is(outcome.code, 0, outcome.stderr);
    assert.equal(outcome.stdout.split('\r\n'), ['250-localhost greets s_client', '250-8BITMIME', '250 AUTH PLAIN', '221 Bye', '']);
    const client = await runExample('smtp-starttls', ['client', '127.0.0.1', port!, fixturePath('ca')], { ms: LIMIT_MS });
    assert.is(client.stderr, '');
    assert.is(client.code, 0);
    assert.equal(client.stdout.trimEnd().split('\n'), [
      '220 localhost ESMTP asyncio-streams',
      '250-localhost greets client.example',
      '250-8BITMIME',
      '250 STARTTLS',
      '220 Ready to start TLS',
      '250-localhost greets client.example',
      '250-8BITMIME',
      '250 AUTH PLAIN',
      '221 Bye',
    ]);
    // By pid: Deno's ChildProcess.kill() reports its child as killed by the signal even when it exits 0.
    process.kill(example.pid!, 'SIGTERM');
    assert.equal(await example.exit(LIMIT_MS), { code: 0, signal: null }, 'the example exits by itself on SIGTERM');
  } finally {
    await example.stop();
  }
});

starttls('smtpStartTls() of the example runs the whole exchange with its server in one process', async () => {
  await peerLeakFree(async () => {
    const server = await startSmtpServer('127.0.0.1', 0, SERVER);
    try {
      const transcript = await within(smtpStartTls('127.0.0.1', portOf(server), { ca: CA }, 'localhost'), LIMIT_MS);
      assert.is(transcript[0], '220 localhost ESMTP asyncio-streams');
      assert.is(transcript.at(-2), '250 AUTH PLAIN');
      assert.is(transcript.at(-1), '221 Bye');
    } finally {
      server.close();
      await within(server.waitClosed());
    }
  });
});

/** A plain server (TLS comes later, by STARTTLS) on 127.0.0.1 and a port from the OS. */
async function withPlainServer(onClient: (reader: StreamReader, writer: StreamWriter) => Promise<void>, body: (port: number) => Promise<void>): Promise<void> {
  await peerLeakFree(async () => {
    const server = await startServer(onClient, '127.0.0.1', 0);
    try {
      await body(portOf(server));
    } finally {
      server.close();
      await within(server.waitClosed());
    }
  });
}

sServerSuite.run();
ourServer.run();
starttls.run();
