/**
 * Certificate verification both ways, on every runtime and every TLS route (see `_runtime.ts`):
 * a client refuses a server certificate that does not verify, a server with `ca` refuses a
 * client certificate that does not verify (the handshake fails and the handler never runs),
 * also when the certificate is optional (`rejectUnauthorized: false` on a server with `ca`),
 * and each failure carries the code the README's table gives. The certificates are made at
 * test time (`_certs.ts`).
 *
 * The client routes: `openConnection` with `ssl`, with another `serverHostname`, with a client
 * certificate, and `writer.startTls()` (on Deno all of them `node:tls` over the `Deno.Conn`). The server routes: `startServer`,
 * `startUnixServer` and a server-side `writer.startTls()`.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Server, StreamReader, StreamWriter, TlsOptions } from '../lib/index.ts';
import { certificates, type KeyPair, type Leaves } from './_certs.ts';
import { afterFirstUse } from './_first-use.ts';
import { leakFree } from './_leaks.ts';
import { rejection, sleep, tempDir, text, within } from './_loopback.ts';
import { openConnection, openUnixConnection, runtime, startServer, startUnixServer } from './_runtime.ts';

const certs = certificates();
const { ca } = certs;

type Bad = Exclude<keyof Leaves, 'good'>;

/** The code each bad certificate fails with on Node and Bun (the README's table). */
const CODES: Record<Bad, string> = {
  selfSigned: 'DEPTH_ZERO_SELF_SIGNED_CERT',
  otherCa: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  expired: 'CERT_HAS_EXPIRED',
  future: 'CERT_NOT_YET_VALID',
};
const BAD = Object.keys(CODES) as Bad[];

/**
 * The code on this runtime (the README's table): the same on every route. Deno (whose TLS is
 * its `node:tls` on every route) tells a self-signed certificate, and reports the rest as
 * certificates it cannot verify.
 */
function expectedCode(bad: Bad): string {
  if (runtime !== 'deno' || bad === 'selfSigned') return CODES[bad];
  return 'UNABLE_TO_VERIFY_LEAF_SIGNATURE';
}

/** Runs `body` once to take what a runtime allocates on a first use, then counted by `leakFree()`. */
async function leakFreeTwice(body: () => Promise<void>): Promise<void> {
  await afterFirstUse(body);
  await leakFree(body);
}

function portOf(server: Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

/** A TLS server with `pair` that echoes one line; counts the clients its handler saw. */
async function echoServer(pair: KeyPair): Promise<{ server: Server; served: () => number }> {
  let served = 0;
  const server = await startServer(async (reader: StreamReader, writer: StreamWriter) => {
    served += 1;
    writer.write(await reader.readline());
    writer.close();
  }, '127.0.0.1', 0, { ssl: pair, onError: () => {} });
  return { server, served: () => served };
}

async function closeServer(server: Server): Promise<void> {
  server.close();
  server.abortClients();
  await within(server.waitClosed());
}

/** Connects and exchanges a line; the writer is closed after. */
async function exchange(reader: StreamReader, writer: StreamWriter): Promise<void> {
  try {
    writer.write('hello\n');
    assert.is(text(await within(reader.readline())), 'hello\n');
  } finally {
    writer.close();
    await within(writer.waitClosed()).catch(() => {});
  }
}

type ClientRoute = (port: number) => Promise<[StreamReader, StreamWriter]>;

const clientRoutes: Record<string, ClientRoute> = {
  'openConnection with ssl': (port) => openConnection('127.0.0.1', port, { ssl: { ca } }),
  'openConnection with another serverHostname': (port) => openConnection('127.0.0.1', port, { ssl: { ca }, serverHostname: 'localhost' }),
  'openConnection with a client certificate': (port) =>
    openConnection('127.0.0.1', port, { ssl: { ca, ...certs.client.good }, serverHostname: 'localhost' }),
  'writer.startTls()': async (port) => {
    const [reader, writer] = await openConnection('127.0.0.1', port);
    try {
      await writer.startTls({ ca }, { serverHostname: 'localhost' });
    } catch (error) {
      writer.close();
      throw error;
    }
    return [reader, writer];
  },
};

const client = suite(`A client verifies the server's certificate (${runtime})`);

for (const [route, connect] of Object.entries(clientRoutes)) {
  client(`${route}: a certificate signed by the CA is accepted; peercert and cipher are known`, () => leakFreeTwice(async () => {
    const { server, served } = await echoServer(certs.server.good);
    try {
      const [reader, writer] = await within(connect(portOf(server)));
      assert.ok(writer.getExtraInfo('peercert'), 'the server certificate is known');
      assert.is((writer.getExtraInfo('cipher') as { version?: string } | null)?.version, 'TLSv1.3');
      await exchange(reader, writer);
      assert.is(served(), 1);
    } finally {
      await closeServer(server);
    }
  }));

  for (const bad of [...BAD, 'wrongName'] as const) {
    const expected = bad === 'wrongName' ? 'ERR_TLS_CERT_ALTNAME_INVALID' : expectedCode(bad);
    client(`${route}: a ${bad} server certificate is refused with ${expected}`, () => leakFreeTwice(async () => {
      const { server, served } = await echoServer(certs.server[bad]);
      try {
        const error = await rejection(connect(portOf(server)));
        assert.is(codeOf(error), expected, String(error));
        await sleep(20);
        assert.is(served(), 0, 'the server never served it');
      } finally {
        await closeServer(server);
      }
    }));
  }
}

/** A server's TLS options: its certificate, and the CA its clients' certificates must be signed by. */
const MUTUAL: TlsOptions = { ...certs.server.good, ca };

/** The client of mutual TLS: presents `pair` (or nothing), verifies the server. */
function clientTls(pair: KeyPair | null): TlsOptions {
  return pair === null ? { ca } : { ca, ...pair };
}

/**
 * What a client of a server that refused its certificate sees: with TLS 1.3 (what every
 * runtime negotiates here) the client's handshake is done before the server checks the
 * client's certificate, so connecting succeeds and the refusal comes at the first read: an
 * error (the server's alert, for a missing certificate) or the end of the stream.
 */
async function refused(connecting: Promise<[StreamReader, StreamWriter]>): Promise<void> {
  const [reader, writer] = await within(connecting);
  try {
    const cipher = writer.getExtraInfo('cipher') as { version?: string } | null;
    assert.is(cipher?.version, 'TLSv1.3');
    writer.write('hello\n');
    const outcome = await within(reader.read().then((data) => data, (error: unknown) => error));
    assert.ok(outcome instanceof Error || (outcome instanceof Uint8Array && outcome.byteLength === 0), `the first read fails or ends: ${String(outcome)}`);
  } finally {
    writer.close();
    await within(writer.waitClosed()).catch(() => {});
  }
}

type ServerRoute = (
  handler: (reader: StreamReader, writer: StreamWriter) => Promise<void>,
  onRefused: (error: unknown) => void,
  serverTls: TlsOptions,
) => Promise<{ connect(pair: KeyPair | null): Promise<[StreamReader, StreamWriter]>; server: Server; close(): void }>;

const serverRoutes: Record<string, ServerRoute> = {
  startServer: async (handler, _onRefused, serverTls) => {
    const server = await startServer(handler, '127.0.0.1', 0, { ssl: serverTls, onError: () => {} });
    return {
      server,
      connect: (pair) => openConnection('127.0.0.1', portOf(server), { ssl: clientTls(pair), serverHostname: 'localhost' }),
      close: () => {},
    };
  },
  startUnixServer: async (handler, _onRefused, serverTls) => {
    const dir = tempDir();
    const path = dir.path('mutual.sock');
    const server = await startUnixServer(handler, path, { ssl: serverTls, onError: () => {} });
    return {
      server,
      connect: (pair) => openUnixConnection(path, { ssl: clientTls(pair), serverHostname: 'localhost' }),
      close: () => dir.remove(),
    };
  },
  'a server-side writer.startTls()': async (handler, onRefused, serverTls) => {
    const server = await startServer(async (reader: StreamReader, writer: StreamWriter) => {
      if (text(await reader.readline()) !== 'STARTTLS\n') return writer.close();
      writer.write('GO\n');
      try {
        await writer.startTls(serverTls);
      } catch (error) {
        onRefused(error);
        throw error;
      }
      await handler(reader, writer);
    }, '127.0.0.1', 0, { onError: () => {} });
    return {
      server,
      connect: async (pair) => {
        const [reader, writer] = await openConnection('127.0.0.1', portOf(server));
        writer.write('STARTTLS\n');
        assert.is(text(await within(reader.readline())), 'GO\n');
        try {
          await writer.startTls(clientTls(pair), { serverHostname: 'localhost' });
        } catch (error) {
          writer.close();
          throw error;
        }
        return [reader, writer];
      },
      close: () => {},
    };
  },
};

/**
 * Connects to the server `route` starts with `serverTls`, presenting the `bad` certificate (or
 * none): refused, with `expected` when the route reports it (a server-side `startTls()`
 * rejects), and the handler never runs.
 */
async function refusedClient(route: string, start: ServerRoute, serverTls: TlsOptions, pair: KeyPair | null, expected: string | undefined): Promise<void> {
  let served = 0;
  const errors: unknown[] = [];
  const { server, connect, close } = await start(async (_reader, writer) => {
    served += 1;
    writer.close();
  }, (error) => errors.push(error), serverTls);
  try {
    await refused(connect(pair));
    await sleep(50);
    assert.is(served, 0, 'the handler never ran');
    if (route.includes('startTls')) {
      assert.is(errors.length, 1, 'startTls() rejected');
      if (expected !== undefined) assert.is(codeOf(errors[0]), expected, String(errors[0]));
    }
  } finally {
    await closeServer(server);
    close();
  }
}

/** Connects to the server `route` starts with `serverTls`, presenting `pair` (or none): served; resolves with its `peercert`. */
async function servedClient(start: ServerRoute, serverTls: TlsOptions, pair: KeyPair | null): Promise<unknown> {
  let peercert: unknown = 'the handler never ran';
  const { server, connect, close } = await start(async (reader, writer) => {
    peercert = writer.getExtraInfo('peercert');
    writer.write(await reader.readline());
    writer.close();
  }, () => {}, serverTls);
  try {
    const [reader, writer] = await within(connect(pair));
    await exchange(reader, writer);
    return peercert;
  } finally {
    await closeServer(server);
    close();
  }
}

/** The common name of `peercert`, as Node's certificate object gives it. */
function commonName(peercert: unknown): unknown {
  return (peercert as { subject?: { CN?: unknown } } | null)?.subject?.CN;
}

const mutual = suite(`A server with ca verifies the client's certificate (${runtime})`);

for (const [route, start] of Object.entries(serverRoutes)) {
  mutual(`${route}: a client certificate signed by the CA is accepted`, () => leakFreeTwice(async () => {
    assert.is(commonName(await servedClient(start, MUTUAL, certs.client.good)), 'client-good');
  }));

  for (const bad of [...BAD, 'missing'] as const) {
    const expected = bad === 'missing' ? undefined : expectedCode(bad);
    mutual(`${route}: a ${bad} client certificate is refused${expected === undefined ? '' : ` with ${expected}`}; the handler never runs`, () => leakFreeTwice(async () => {
      await refusedClient(route, start, MUTUAL, bad === 'missing' ? null : certs.client[bad], expected);
    }));
  }
}

/** Mutual TLS made optional: no certificate, or one that verifies (CPython's `CERT_OPTIONAL`). */
const OPTIONAL: TlsOptions = { ...MUTUAL, rejectUnauthorized: false };

const optional = suite(`A server with ca and rejectUnauthorized: false serves no client certificate or one that verifies (${runtime})`);

for (const [route, start] of Object.entries(serverRoutes)) {
  optional(`${route}: a client with no certificate is served; peercert is null`, () => leakFreeTwice(async () => {
    assert.is(await servedClient(start, OPTIONAL, null), null);
  }));

  optional(`${route}: a client certificate signed by the CA is served; peercert is it`, () => leakFreeTwice(async () => {
    assert.is(commonName(await servedClient(start, OPTIONAL, certs.client.good)), 'client-good');
  }));

  for (const bad of BAD) {
    optional(`${route}: a ${bad} client certificate is refused with ${expectedCode(bad)}, not served as if it verified`, () => leakFreeTwice(async () => {
      await refusedClient(route, start, OPTIONAL, certs.client[bad], expectedCode(bad));
    }));
  }
}

client.run();
mutual.run();
optional.run();

const hostName = suite(`writer.startTls() verifies the host connected to (${runtime})`);

hostName('without serverHostname, a connection opened to a host name verifies that name', () => leakFreeTwice(async () => {
  const { server, served } = await echoServer(certs.server.good);
  try {
    const [reader, writer] = await within(openConnection('localhost', portOf(server)));
    await within(writer.startTls({ ca }));
    await exchange(reader, writer);
    assert.is(served(), 1);
  } finally {
    await closeServer(server);
  }
}));

hostName('without serverHostname, a certificate for another name is refused with ERR_TLS_CERT_ALTNAME_INVALID', () => leakFreeTwice(async () => {
  const { server, served } = await echoServer(certs.server.wrongName);
  try {
    const [, writer] = await within(openConnection('localhost', portOf(server)));
    const error = await rejection(writer.startTls({ ca }));
    assert.is(codeOf(error), 'ERR_TLS_CERT_ALTNAME_INVALID', String(error));
    writer.close();
    assert.is(served(), 0);
  } finally {
    await closeServer(server);
  }
}));

hostName.run();
