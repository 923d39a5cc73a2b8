/**
 * Load: an echo server holding 1,000 connections at once (fewer only if `ulimit -n` cannot
 * hold both ends of that many in one process), 100 round trips on each, every byte checked,
 * and the socket descriptors back to where they were. bench/soak.ts runs the same load and then
 * a 2-minute soak that watches memory.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  closeClients,
  connectionsWithin,
  exchange,
  messageFor,
  openClients,
  runEchoLoad,
  startEchoServer,
} from './_echo-load.ts';
import { openSockets, socketsBackTo } from './_leaks.ts';
import { within } from './_loopback.ts';

const CONNECTIONS = 1000;
const MESSAGES = 100;

const load = suite('Load: an echo server over loopback');

/** 1,000, or as many as `ulimit -n` lets this process hold with both ends of each. */
const connections = connectionsWithin(CONNECTIONS);

load(`holds ${connections} connections at once, ${MESSAGES} messages each, every byte echoed back intact`, async () => {
  const result = await within(runEchoLoad(connections, MESSAGES), 30_000, 'the load');
  assert.is(result.connections, connections);
  assert.is(result.peak, connections, 'every connection was served at the same time');
  assert.is(result.messages, connections * MESSAGES);
  let expected = 0;
  for (let connection = 0; connection < connections; connection++) {
    for (let index = 0; index < MESSAGES; index++) expected += messageFor(connection, index, 16 * 1024).length;
  }
  assert.is(result.bytesVerified, expected, 'every byte sent came back and was compared');
  assert.ok(result.sockets.during >= result.sockets.before + 2 * connections, `both ends of every connection were open (${result.sockets.during} sockets)`);
  assert.is(result.sockets.after, result.sockets.before, 'the socket descriptors are back to the baseline');
});

load('uses as many connections as the descriptor limit allows, never more', () => {
  assert.ok(connections >= 1 && connections <= CONNECTIONS);
  assert.ok(connectionsWithin(Number.MAX_SAFE_INTEGER, 0) >= connections, 'a larger wish is capped by the limit only');
});

load('serves new clients while others stay connected, and lets go of each one that leaves', async () => {
  const before = openSockets();
  const server = await startEchoServer();
  try {
    const resident = await openClients(server.port, 50);
    for (let round = 0; round < 10; round++) {
      const visitors = await openClients(server.port, 20);
      const counts = await Promise.all(visitors.map((client, i) => exchange(client, 1000 + round * 20 + i, 5, 2048)));
      assert.ok(counts.every((count) => count > 0));
      await closeClients(visitors);
      const count = await exchange(resident[round]!, round, 3, 2048, round * 3);
      assert.ok(count > 0);
    }
    await closeClients(resident);
    await within(
      (async () => {
        while (server.active > 0) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
      5000,
      'the handlers ending',
    );
    assert.is(server.peak, 70, '50 resident clients and 20 visitors at most');
    assert.equal(server.errors, []);
  } finally {
    await server.close();
  }
  assert.is(await socketsBackTo(before), before, 'the socket descriptors are back to the baseline');
});

load.run();
