import net from 'node:net';
const root = process.argv[2]!;
const { startServer } = await import(`${root}/lib/runtime/node.ts`);
const N = 50, MSGS = 2000, SIZE = 1024;
const server = await startServer(async (reader: any, writer: any) => {
  for (;;) { const d = await reader.read(65536); if (d.length === 0) break; writer.write(d); await writer.drain(); }
  writer.close();
}, '127.0.0.1', 0);
const port = server.sockets[0].getsockname()[1];
const msg = Buffer.alloc(SIZE, 7);
async function client() {
  const s = net.connect(port, '127.0.0.1'); s.setNoDelay(true);
  await new Promise((r) => s.once('connect', r));
  let got = 0, sent = 0;
  await new Promise<void>((resolve) => {
    s.on('data', (d) => { got += d.length; while (got >= SIZE) { got -= SIZE; if (++sent === MSGS) { resolve(); return; } s.write(msg); } });
    s.write(msg);
  });
  s.destroy();
}
for (let round = 0; round < 4; round++) {
  const c0 = process.cpuUsage(); const t0 = performance.now();
  await Promise.all(Array.from({ length: N }, client));
  const c = process.cpuUsage(c0); const t = performance.now() - t0;
  if (round > 0) console.log(root.split('/').pop(), 'µs CPU/round trip', ((c.user + c.system) / (N * MSGS)).toFixed(2), 'wall ms', t.toFixed(0));
}
server.close(); server.abortClients(); await server.waitClosed();
