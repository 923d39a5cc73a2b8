/**
 * A real nginx, started by the spec (not as a daemon, one process, everything in a temp dir) on
 * loopback ports from the OS, plain and https with the test CA of spec/fixtures/tls; the
 * HTTP/1.1 client of `examples/http-client.ts` and `examples/get-http-headers.ts` against it,
 * and nginx as a proxy in front of a server on `startServer`. Runs on Node, Deno and Bun.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { bodyOf, decoded, HttpClient, readHead, type HttpResponse } from '../examples/http-client.ts';
import { accepts, freePort, peerLeakFree, runExample, runPeer, startPeer, type PeerProcess } from './_peer-process.ts';
import type { Server } from '../lib/index.ts';
import { FNV_START, fnv1a, uploadServer, type Seen } from './_http-upload-server.ts';
import { openConnection, runtime, startServer } from './_runtime.ts';
import { CA, fixturePath } from './_tls.ts';
import { tempDir, text, within } from './_loopback.ts';

/** Far above what each exchange takes (tens of ms), so only a hang trips it. */
const LIMIT_MS = 30_000;

/** About 1 MiB of text that compresses well but not to nothing: every line differs. */
const BIG = Array.from({ length: 20_000 }, (_, i) => `line ${i}: the quick brown fox jumps over the lazy dog ${i * 7919}\n`).join('');
const FILES: Record<string, string> = { 'a.txt': 'first file\n', 'b.txt': 'second file, a little longer\n', 'c.txt': 'third\r\nfile\r\n', 'big.txt': BIG };

interface Nginx {
  peer: PeerProcess;
  port: number;
  tlsPort: number;
  dir: ReturnType<typeof tempDir>;
  /** The server on startServer that nginx proxies /proxy/ to, and what it saw. */
  upstream: Server;
  upstreamSeen: Seen[];
}

function config(dir: ReturnType<typeof tempDir>, port: number, tlsPort: number, upstreamPort: number): string {
  const path = dir.path('');
  return `
# One process (no workers to switch user or to outlive a kill of the pid), all paths in ${path}.
master_process off;
worker_processes 1;
pid ${path}/nginx.pid;
error_log ${path}/error.log warn;
events { worker_connections 128; }
http {
  access_log ${path}/access.log;
  client_body_temp_path ${path}/client_body;
  proxy_temp_path ${path}/proxy;
  fastcgi_temp_path ${path}/fastcgi;
  uwsgi_temp_path ${path}/uwsgi;
  scgi_temp_path ${path}/scgi;
  default_type text/plain;
  keepalive_requests 1000;
  # Our server behind nginx, on kept-alive connections.
  upstream ours {
    server 127.0.0.1:${upstreamPort};
    keepalive 4;
  }
  server {
    listen 127.0.0.1:${port};
    listen 127.0.0.1:${tlsPort} ssl;
    ssl_certificate ${fixturePath('server')};
    ssl_certificate_key ${fixturePath('server-key')};
    root ${path}/www;
    add_header X-Connection $connection always;
    add_header X-Requests $connection_requests always;
    # gzip of unknown length: chunked on HTTP/1.1, the body up to the close on HTTP/1.0.
    location /gzip/ {
      gzip on;
      gzip_types text/plain;
      gzip_min_length 0;
      gzip_http_version 1.0;
    }
    # A sub_filter drops Content-Length, so HTTP/1.1 responses are chunked (the filter never matches).
    location /chunked/ {
      sub_filter 'never-present' 'x';
      sub_filter_types *;
    }
    # Request bodies go on as they come (chunked stays chunked), over HTTP/1.1 kept alive.
    location /proxy/ {
      proxy_pass http://ours;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_request_buffering off;
      client_max_body_size 100m;
    }
  }
}
`;
}

async function startNginx(): Promise<Nginx> {
  const dir = tempDir();
  const upstreamSeen: Seen[] = [];
  const upstream = await startServer(uploadServer(upstreamSeen), '127.0.0.1', 0);
  try {
    for (const folder of ['', 'gzip/', 'chunked/']) {
      mkdirSync(dir.path(`www/${folder}`), { recursive: true });
      for (const [name, content] of Object.entries(FILES)) writeFileSync(dir.path(`www/${folder}${name}`), content);
    }
    const port = await freePort();
    const tlsPort = await freePort();
    const upstreamPort = (upstream.sockets[0]!.getsockname() as [string, number])[1];
    writeFileSync(dir.path('nginx.conf'), config(dir, port, tlsPort, upstreamPort));
    const args = ['-p', dir.path(''), '-c', dir.path('nginx.conf'), '-e', dir.path('error.log'), '-g', 'daemon off;'];
    const peer = await startPeer('nginx', args, { ready: async () => (await accepts({ port })) && (await accepts({ port: tlsPort })) });
    return { peer, port, tlsPort, dir, upstream, upstreamSeen };
  } catch (error) {
    dir.remove();
    upstream.close();
    await upstream.waitClosed();
    throw error;
  }
}

/** The nginx of this file, started by the first test that needs it (a hook's error would be silent). */
let nginx: Promise<Nginx> | undefined;

function server(): Promise<Nginx> {
  nginx ??= startNginx();
  return nginx;
}

/** Runs `body` with a client on a fresh connection, closes it after, and checks that nothing leaked. */
async function withClient(https: boolean, body: (http: HttpClient) => Promise<void>): Promise<void> {
  const { port, tlsPort } = await server();
  await peerLeakFree(async () => {
    const http = await within(https ? HttpClient.connect(`https://127.0.0.1:${tlsPort}`, { ca: CA }) : HttpClient.connect(`http://127.0.0.1:${port}`));
    try {
      await within(body(http), LIMIT_MS, 'the exchange with nginx');
    } finally {
      await within(http.close());
    }
  });
}

function sameConnection(responses: HttpResponse[]): void {
  const connections = new Set(responses.map((response) => response.headers.get('x-connection')));
  assert.is(connections.size, 1, 'every response came on one connection');
  assert.equal(responses.map((response) => Number(response.headers.get('x-requests'))), responses.map((_, i) => i + 1));
}

for (const https of [false, true]) {
  const name = https ? 'https' : 'http';
  const test = suite(`nginx over ${name} (${runtime})`);

  test('keep-alive: several requests one after another on one connection', async () => {
    await withClient(https, async (http) => {
      const responses: HttpResponse[] = [];
      for (const file of ['a.txt', 'b.txt', 'c.txt']) {
        const response = await http.request('GET', `/${file}`);
        assert.is(response.status, 200);
        assert.is(response.headers.get('content-length'), String(FILES[file]!.length));
        assert.is(text(response.body), FILES[file]);
        responses.push(response);
      }
      sameConnection(responses);
    });
  });

  test('pipelining: requests written at once, responses read in order', async () => {
    await withClient(https, async (http) => {
      const files = ['c.txt', 'a.txt', 'big.txt', 'b.txt', 'missing.txt', 'a.txt'];
      for (const file of files) http.send(file === 'b.txt' ? 'HEAD' : 'GET', `/${file}`);
      await http.writer.drain();
      const responses: HttpResponse[] = [];
      for (const _ of files) responses.push(await http.receive());
      assert.equal(responses.map((response) => response.status), [200, 200, 200, 200, 404, 200]);
      assert.is(text(responses[0]!.body), FILES['c.txt']);
      assert.is(text(responses[2]!.body), BIG);
      assert.is(responses[3]!.body.byteLength, 0, 'a HEAD response has no body');
      assert.is(responses[3]!.headers.get('content-length'), String(FILES['b.txt']!.length));
      assert.is(text(responses[5]!.body), FILES['a.txt']);
      sameConnection(responses);
    });
  });

  test('a chunked response decodes whole with readuntil and readexactly, and the connection goes on', async () => {
    await withClient(https, async (http) => {
      const response = await http.request('GET', '/chunked/big.txt');
      assert.is(response.headers.get('transfer-encoding'), 'chunked');
      assert.is(response.headers.get('content-length'), null);
      assert.is(text(response.body), BIG);
      const next = await http.request('GET', '/chunked/a.txt');
      assert.is(text(next.body), FILES['a.txt']);
      sameConnection([response, next]);
    });
  });

  test('a gzip body, chunked, goes through DecompressionStream and the connection goes on', async () => {
    await withClient(https, async (http) => {
      const response = await http.request('GET', '/gzip/big.txt');
      assert.is(response.headers.get('content-encoding'), 'gzip');
      assert.is(response.headers.get('transfer-encoding'), 'chunked');
      assert.is(text(response.body), BIG);
      const next = await http.request('GET', '/gzip/c.txt');
      assert.is(text(next.body), FILES['c.txt']);
      sameConnection([response, next]);
    });
  });

  test('HTTP/1.0: a gzip body up to the close is reader.readable through DecompressionStream', async () => {
    const { port, tlsPort } = await server();
    await peerLeakFree(async () => {
      const [reader, writer] = await within(https ? openConnection('127.0.0.1', tlsPort, { ssl: { ca: CA } }) : openConnection('127.0.0.1', port));
      try {
        writer.write('GET /gzip/big.txt HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n');
        const head = await within(readHead(reader));
        assert.is(head.status, 200);
        assert.is(head.headers.get('content-encoding'), 'gzip');
        assert.is(head.headers.get('content-length'), null);
        assert.is(head.headers.get('transfer-encoding'), null);
        const body = bodyOf(reader, head, 'GET');
        assert.is(body, reader.readable, 'the body is the rest of the connection');
        const plain = await within(new Response(decoded(body, head) as ReadableStream<Uint8Array<ArrayBuffer>>).text(), LIMIT_MS);
        assert.is(plain, BIG);
        assert.ok(reader.atEof());
      } finally {
        writer.close();
        await within(writer.waitClosed()).catch(() => {});
      }
    });
  });

  test(`examples/get-http-headers.ts prints the headers over ${name}`, async () => {
    const { port, tlsPort } = await server();
    const url = https ? `https://127.0.0.1:${tlsPort}/a.txt` : `http://127.0.0.1:${port}/a.txt`;
    // The example trusts the default store, which these extend (Node and Bun, Deno).
    const outcome = await runExample('get-http-headers', [url], { env: { NODE_EXTRA_CA_CERTS: fixturePath('ca'), DENO_CERT: fixturePath('ca') } });
    assert.is(outcome.stderr, '');
    assert.is(outcome.code, 0);
    const printed = outcome.stdout.trimEnd().split('\n');
    assert.is(printed[0], 'HTTP header> HTTP/1.1 200 OK');
    assert.ok(printed.includes(`HTTP header> Content-Length: ${FILES['a.txt']!.length}`), outcome.stdout);
    assert.ok(printed.some((line) => /^HTTP header> Server: nginx/.test(line)), outcome.stdout);
    assert.ok(printed.every((line) => line.startsWith('HTTP header> ')), outcome.stdout);
  });

  test(`examples/http-client.ts fetches plain, chunked and gzip bodies on one connection over ${name}`, async () => {
    const { port, tlsPort } = await server();
    const url = https ? `https://127.0.0.1:${tlsPort}/a.txt` : `http://127.0.0.1:${port}/a.txt`;
    const outcome = await runExample('http-client', [url, '/chunked/big.txt', '/gzip/big.txt', '/missing'], {
      env: { NODE_EXTRA_CA_CERTS: fixturePath('ca'), DENO_CERT: fixturePath('ca') },
    });
    assert.is(outcome.stderr, '');
    assert.is(outcome.code, 0);
    assert.equal(outcome.stdout.trimEnd().split('\n'), [
      `GET /a.txt -> 200 OK, ${FILES['a.txt']!.length} bytes`,
      `GET /chunked/big.txt -> 200 OK, ${BIG.length} bytes (chunked)`,
      `GET /gzip/big.txt -> 200 OK, ${BIG.length} bytes (chunked, gzip)`,
      `GET /missing -> 404 Not Found, ${(await notFoundLength(port))} bytes`,
    ]);
  });

  test('as a proxy, nginx keeps its connections to a server on startServer alive', async () => {
    const nginx = await server();
    // nginx keeps its upstream connection open after it (so our server holds a descriptor for
    // it), before the count of descriptors that withClient checks.
    const warmUp = await HttpClient.connect(`http://127.0.0.1:${nginx.port}`);
    try {
      assert.is((await within(warmUp.request('GET', '/proxy/warm-up'))).status, 200);
    } finally {
      await warmUp.close();
    }
    await withClient(https, async (http) => {
      const before = nginx.upstreamSeen.length;
      for (let i = 1; i <= 6; i++) {
        const response = await http.request('GET', `/proxy/${name}/${i}`);
        assert.is(response.status, 200);
        assert.is(text(response.body), `GET /proxy/${name}/${i}: 0 bytes, fnv1a ${FNV_START.toString(16)}\n`);
      }
      const mine = nginx.upstreamSeen.slice(before);
      assert.equal(mine.map((seen) => seen.path), [1, 2, 3, 4, 5, 6].map((i) => `/proxy/${name}/${i}`));
      assert.is(new Set(mine.map((seen) => seen.connection)).size, 1, 'one upstream connection for all six');
    });
  });

  test('through nginx to a server on startServer: chunked and 10 MiB uploads from curl', async () => {
    const nginx = await server();
    const data = new Uint8Array(10 * 1024 * 1024);
    for (let i = 0; i < data.byteLength; i++) data[i] = (i * 13 + (i >>> 12)) & 0xff;
    const file = nginx.dir.path(`upload-${name}.bin`);
    writeFileSync(file, data);
    const checksum = fnv1a(FNV_START, data).toString(16);
    const base = https ? `https://localhost:${nginx.tlsPort}` : `http://127.0.0.1:${nginx.port}`;
    const tls = https ? ['--cacert', fixturePath('ca'), '--resolve', `localhost:${nginx.tlsPort}:127.0.0.1`] : [];
    for (const [path, extra] of [['chunked', ['-H', 'Transfer-Encoding: chunked']], ['length', []]] as const) {
      const before = nginx.upstreamSeen.length;
      const outcome = await runPeer('curl', ['-sS', '--fail', ...tls, ...extra, '--data-binary', `@${file}`, `${base}/proxy/${name}/${path}`], { ms: LIMIT_MS });
      assert.is(outcome.stderr, '');
      assert.is(outcome.stdout, `POST /proxy/${name}/${path}: ${data.byteLength} bytes, fnv1a ${checksum}\n`);
      const seen = nginx.upstreamSeen.slice(before);
      assert.is(seen.length, 1);
      if (path === 'chunked') assert.is(seen[0]!.headers.get('transfer-encoding'), 'chunked', 'nginx passed the body on chunked');
      else assert.is(seen[0]!.headers.get('content-length'), String(data.byteLength));
    }
  });

  if (https) {
    test.after(async () => {
      const starting = nginx;
      nginx = undefined;
      const running = await starting?.catch(() => undefined);
      if (running === undefined) return;
      try {
        await running.peer.stop();
        assert.ok(!running.peer.running, 'nginx stopped');
      } finally {
        running.dir.remove();
        running.upstream.close();
        await within(running.upstream.waitClosed());
      }
    });
  }

  test.run();
}

/** The length of nginx's own 404 page, asked for on a connection of this process. */
async function notFoundLength(port: number): Promise<number> {
  const http = await HttpClient.connect(`http://127.0.0.1:${port}`);
  try {
    return (await within(http.request('GET', '/missing'))).body.byteLength;
  } finally {
    await http.close();
  }
}
