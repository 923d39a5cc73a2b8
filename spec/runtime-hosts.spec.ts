/**
 * Hosts and families as CPython's `getaddrinfo()` takes them, under Node, Deno and Bun (see
 * `_runtime.ts`), where each runtime alone would do something else: an address of the other
 * family than `family` asks for is refused (`EAI_ADDRFAMILY`; Node and Bun connected to it,
 * and every runtime listened on it), so is an empty host (`ENOTFOUND`; Node connected to
 * `localhost`, Deno and Bun failed each their own way) and an empty list of hosts (a server
 * that listened on nothing); a `localAddr` port may be a string, as `port` may; and a client
 * with no host connects to the loopback addresses, `::1` then `127.0.0.1`, whatever the hosts
 * file says `localhost` is. Each refusal comes before anything is opened.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Server, StreamReader, StreamWriter } from '../lib/index.ts';
import { leakFreeTwice } from './_first-use.ts';
import { rejection, text, within } from './_loopback.ts';
import { openConnection, runtime, startServer } from './_runtime.ts';

type Address = [string, number];

function portOf(server: Server): number {
  return (server.sockets[0]!.getsockname() as Address)[1];
}

/** Answers one line, then closes; counts the clients it served. */
async function lineServer(host: string | string[]): Promise<{ server: Server; served: () => number }> {
  let served = 0;
  const server = await startServer(async (reader: StreamReader, writer: StreamWriter) => {
    served += 1;
    writer.write(await reader.readline());
    writer.close();
  }, host, 0);
  return { server, served: () => served };
}

async function closeServer(server: Server): Promise<void> {
  server.close();
  await within(server.waitClosed());
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

/** Says a line and reads it back; resolves with the peer's address. */
async function exchange(reader: StreamReader, writer: StreamWriter): Promise<Address> {
  try {
    writer.write('hi\n');
    assert.is(text(await within(reader.readline())), 'hi\n');
    return writer.getExtraInfo('peername') as Address;
  } finally {
    writer.close();
    await within(writer.waitClosed()).catch(() => {});
  }
}

const family = suite(`An address of the other family is refused, as getaddrinfo() does (${runtime})`);

for (const [host, other] of [['127.0.0.1', 6], ['::1', 4]] as const) {
  family(`openConnection('${host}', port, { family: ${other} }) rejects with EAI_ADDRFAMILY; nothing connects`, () => leakFreeTwice(async () => {
    const { server, served } = await lineServer(host);
    try {
      const error = await rejection(openConnection(host, portOf(server), { family: other }));
      assert.is(codeOf(error), 'EAI_ADDRFAMILY', String(error));
      assert.match(String(error), /Address family for hostname not supported/);
      assert.is(served(), 0);
    } finally {
      await closeServer(server);
    }
  }));

  family(`startServer(cb, '${host}', 0, { family: ${other} }) rejects with EAI_ADDRFAMILY, as does a list with it`, () => leakFreeTwice(async () => {
    for (const hosts of [host, [host]]) {
      const error = await rejection(startServer(() => {}, hosts, 0, { family: other }));
      assert.is(codeOf(error), 'EAI_ADDRFAMILY', String(error));
    }
  }));
}

family('an address of the family asked for is taken, by client and server', () => leakFreeTwice(async () => {
  const server = await startServer(async (reader: StreamReader, writer: StreamWriter) => {
    writer.write(await reader.readline());
    writer.close();
  }, '::1', 0, { family: 6 });
  try {
    const [reader, writer] = await within(openConnection('::1', portOf(server), { family: 6 }));
    assert.equal(await exchange(reader, writer), ['::1', portOf(server)]);
  } finally {
    await closeServer(server);
  }
}));

if (runtime === 'deno') {
  family('Deno: a server given family with a host name is refused, as a client is (Deno resolves the name itself)', async () => {
    const error = await rejection(startServer(() => {}, 'localhost', 0, { family: 6 }));
    assert.instance(error, RangeError);
    assert.match(String(error), /family is supported on Deno only with an address/);
  });
}

family.run();

const empty = suite(`An empty host is no host to connect to or listen on (${runtime})`);

empty("openConnection('', port) rejects with ENOTFOUND on every runtime", () => leakFreeTwice(async () => {
  const { server, served } = await lineServer('127.0.0.1');
  try {
    const error = await rejection(openConnection('', portOf(server)));
    assert.is(codeOf(error), 'ENOTFOUND', String(error));
    assert.is(served(), 0);
  } finally {
    await closeServer(server);
  }
}));

empty('startServer() with no hosts in its list rejects as CPython does; a list with an empty host rejects with ENOTFOUND, listening on none', () => leakFreeTwice(async () => {
  const none = await rejection(startServer(() => {}, [], 0));
  assert.is(String(none), 'Error: could not bind on any address out of []');
  for (const hosts of [[''], ['127.0.0.1', '']]) {
    const error = await rejection(startServer(() => {}, hosts, 0));
    assert.is(codeOf(error), 'ENOTFOUND', `${JSON.stringify(hosts)}: ${String(error)}`);
  }
}));

empty.run();

const noHost = suite(`A client with no host connects to ::1, then 127.0.0.1, as CPython does (${runtime})`);

for (const host of ['::1', '127.0.0.1']) {
  noHost(`to a server on ${host} alone`, () => leakFreeTwice(async () => {
    const { server } = await lineServer(host);
    try {
      const [reader, writer] = await within(openConnection(null, portOf(server)));
      assert.equal(await exchange(reader, writer), [host, portOf(server)]);
    } finally {
      await closeServer(server);
    }
  }));
}

noHost('with family 4, only to 127.0.0.1: a server on ::1 alone refuses it', () => leakFreeTwice(async () => {
  const { server } = await lineServer('::1');
  try {
    const error = await rejection(openConnection(null, portOf(server), { family: 4 }));
    assert.is(codeOf(error), 'ECONNREFUSED', String(error));
  } finally {
    await closeServer(server);
  }
}));

noHost('both refusing: one error with the code they share (naming both addresses where the runtime names them)', () => leakFreeTwice(async () => {
  const { server } = await lineServer('127.0.0.1');
  const port = portOf(server);
  await closeServer(server);
  const error = await rejection(openConnection(null, port));
  assert.is(codeOf(error), 'ECONNREFUSED', String(error));
  // Deno's message names no address: both say the same, and the first is the error (CPython's rule).
  if (runtime !== 'deno') assert.match(String(error), /^Error: Multiple exceptions: .*::1.*127\.0\.0\.1/);
}));

noHost.run();

const localAddr = suite(`localAddr takes its port as port does (${runtime})`);

if (runtime === 'deno') {
  localAddr('Deno refuses localAddr (Deno.connect cannot bind first)', async () => {
    const error = await rejection(openConnection('127.0.0.1', 9, { localAddr: ['127.0.0.1', '0'] as unknown as [string, number] }));
    assert.instance(error, RangeError);
  });
} else {
  localAddr("localAddr ['127.0.0.1', '0'] binds to a port of the system's choosing", () => leakFreeTwice(async () => {
    const { server } = await lineServer('127.0.0.1');
    try {
      const [reader, writer] = await within(openConnection('127.0.0.1', portOf(server), { localAddr: ['127.0.0.1', '0'] as unknown as [string, number] }));
      const own = writer.getExtraInfo('sockname') as Address;
      assert.is(own[0], '127.0.0.1');
      assert.ok(own[1] > 0);
      await exchange(reader, writer);
    } finally {
      await closeServer(server);
    }
  }));
}

localAddr('a localAddr without its port is refused with a TypeError', async () => {
  const error = await rejection(openConnection('127.0.0.1', 9, { localAddr: ['127.0.0.1'] as unknown as [string, number] }));
  assert.instance(error, TypeError);
  assert.match(String(error), /localAddr must be a \[host, port\] pair/);
});

localAddr.run();
