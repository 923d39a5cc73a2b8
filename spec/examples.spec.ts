import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tcpEchoClient } from '../examples/tcp-echo-client.ts';
import { startEchoServer } from '../examples/tcp-echo-server.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Far above the second or so an example takes, so only a hang trips it. */
const TIME_LIMIT_MS = 30_000;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** An example running as `node --import tsx examples/NAME.ts ARGS`. */
class Example {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly #exited: Promise<Outcome>;
  #onOutput: (() => void) | null = null;

  constructor(name: string, args: string[] = [], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, ['--import', 'tsx', `examples/${name}.ts`, ...args], {
      cwd: root,
      env: { ...process.env, ...env },
    });
    this.child.stdout.setEncoding('utf8').on('data', (text: string) => {
      this.stdout += text;
      this.#onOutput?.();
    });
    this.child.stderr.setEncoding('utf8').on('data', (text: string) => {
      this.stderr += text;
    });
    this.#exited = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`examples/${name}.ts still running after ${TIME_LIMIT_MS} ms; stdout: ${this.stdout}`));
      }, TIME_LIMIT_MS);
      this.child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      this.child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
    // Whoever awaits exited() sees the failure; this keeps an early one from going unhandled.
    this.#exited.catch(() => {});
  }

  /** The first match of `pattern` in the output so far or to come. */
  async waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
    const ended = this.#exited.then(() => null, () => null);
    for (;;) {
      const match = this.stdout.match(pattern);
      if (match !== null) return match;
      const more = new Promise<void>((resolve) => {
        this.#onOutput = resolve;
      });
      if ((await Promise.race([more, ended])) === null) {
        throw new Error(`exited before printing ${pattern}; stdout: ${this.stdout} stderr: ${this.stderr}`);
      }
    }
  }

  exited(): Promise<Outcome> {
    return this.#exited;
  }

  /** For `finally`: ends the child if a failed test left it running. */
  async dispose(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.#exited.catch(() => {});
  }
}

async function runExample(name: string, args: string[] = [], env: Record<string, string> = {}): Promise<Outcome> {
  const example = new Example(name, args, env);
  try {
    return await example.exited();
  } finally {
    await example.dispose();
  }
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

/** A node:net echo server on 127.0.0.1, port 0, that records what it received. */
async function netEchoServer(): Promise<{ port: number; received: () => string; close: () => Promise<void> }> {
  let received = '';
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (data) => {
      received += data.toString('latin1');
      socket.write(data);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    received: () => received,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Sends `message` over a fresh connection and collects everything until the server closes. */
async function exchange(port: number, message: string): Promise<{ reply: string; localPort: number }> {
  const socket = connect({ host: '127.0.0.1', port });
  try {
    await once(socket, 'connect');
    const localPort = socket.localPort!;
    let reply = '';
    socket.setEncoding('latin1').on('data', (text: string) => {
      reply += text;
    });
    socket.write(message);
    await once(socket, 'end');
    return { reply, localPort };
  } finally {
    socket.destroy();
  }
}

const echoClient = suite('examples/tcp-echo-client.ts');

echoClient('sends Hello World!, prints the echo and exits by itself (host and port from argv)', async () => {
  const server = await netEchoServer();
  try {
    const outcome = await runExample('tcp-echo-client', ['127.0.0.1', String(server.port)]);
    assert.is(outcome.stderr, '');
    assert.is(outcome.code, 0);
    assert.equal(lines(outcome.stdout), ["Send: 'Hello World!'", "Received: 'Hello World!'", 'Close the connection']);
    assert.is(server.received(), 'Hello World!');
  } finally {
    await server.close();
  }
});

echoClient('takes the address from ECHO_HOST and ECHO_PORT', async () => {
  const server = await netEchoServer();
  try {
    const outcome = await runExample('tcp-echo-client', [], { ECHO_HOST: '127.0.0.1', ECHO_PORT: String(server.port) });
    assert.is(outcome.code, 0);
    assert.equal(lines(outcome.stdout), ["Send: 'Hello World!'", "Received: 'Hello World!'", 'Close the connection']);
    assert.is(server.received(), 'Hello World!');
  } finally {
    await server.close();
  }
});

echoClient('fails with the runtime error when nothing listens', async () => {
  const server = await netEchoServer();
  const port = server.port;
  await server.close();
  const outcome = await runExample('tcp-echo-client', ['127.0.0.1', String(port)]);
  assert.is.not(outcome.code, 0);
  assert.match(outcome.stderr, /ECONNREFUSED/);
  assert.is(outcome.stdout, '');
});

const echoServer = suite('examples/tcp-echo-server.ts');

echoServer('echoes each client, prints both lines per client, and exits 0 on SIGINT', async () => {
  const example = new Example('tcp-echo-server', ['127.0.0.1', '0']);
  try {
    const [, port] = await example.waitFor(/^Serving on \[ '127\.0\.0\.1', (\d+) \]$/m);
    const first = await exchange(Number(port), 'Hello World!');
    const second = await exchange(Number(port), 'again');
    assert.is(first.reply, 'Hello World!');
    assert.is(second.reply, 'again');
    await example.waitFor(/Received 'again'[^]*Close the connection\n$/);
    example.child.kill('SIGINT');
    const outcome = await example.exited();
    assert.is(outcome.stderr, '');
    assert.is(outcome.code, 0);
    assert.equal(lines(outcome.stdout), [
      `Serving on [ '127.0.0.1', ${port} ]`,
      `Received 'Hello World!' from [ '127.0.0.1', ${first.localPort} ]`,
      "Send: 'Hello World!'",
      'Close the connection',
      `Received 'again' from [ '127.0.0.1', ${second.localPort} ]`,
      "Send: 'again'",
      'Close the connection',
    ]);
  } finally {
    await example.dispose();
  }
});

echoServer('takes the address from ECHO_HOST and ECHO_PORT and exits 0 on SIGTERM', async () => {
  const example = new Example('tcp-echo-server', [], { ECHO_HOST: '127.0.0.1', ECHO_PORT: '0' });
  try {
    const [, port] = await example.waitFor(/^Serving on \[ '127\.0\.0\.1', (\d+) \]$/m);
    assert.is((await exchange(Number(port), 'ping')).reply, 'ping');
    await example.waitFor(/Close the connection\n$/);
    example.child.kill('SIGTERM');
    const outcome = await example.exited();
    assert.is(outcome.code, 0);
    assert.is(outcome.stderr, '');
  } finally {
    await example.dispose();
  }
});

echoServer('imported, it runs nothing until asked, and its parts serve in-process', async () => {
  const serverLines: string[] = [];
  const clientLines: string[] = [];
  const server = await startEchoServer('127.0.0.1', 0, (line) => serverLines.push(line));
  const [host, port] = server.sockets[0]!.getsockname() as [string, number];
  try {
    await tcpEchoClient('Hello World!', host, port, (line) => clientLines.push(line));
  } finally {
    server.close();
    await server.waitClosed();
  }
  assert.equal(clientLines, ["Send: 'Hello World!'", "Received: 'Hello World!'", 'Close the connection']);
  assert.is(serverLines[0], `Serving on [ '127.0.0.1', ${port} ]`);
  assert.match(serverLines[1]!, /^Received 'Hello World!' from \[ '127\.0\.0\.1', \d+ \]$/);
  assert.equal(serverLines.slice(2), ["Send: 'Hello World!'", 'Close the connection']);
});

const httpHeaders = suite('examples/get-http-headers.ts');

httpHeaders('sends HEAD for the path and prints each header line of the response', async () => {
  const requests: Array<{ method?: string; url?: string; httpVersion: string; headers: IncomingHttpHeaders }> = [];
  const server = createHttpServer((request, response) => {
    requests.push({ method: request.method, url: request.url, httpVersion: request.httpVersion, headers: request.headers });
    response.setHeader('X-Example', 'yes');
    // Sent as latin-1 (byte 0xE9), which the example decodes as the Python does.
    response.setHeader('X-Name', 'caf\u00e9');
    response.end('the body, never printed');
  });
  server.listen(0, '127.0.0.1');
  try {
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const outcome = await runExample('get-http-headers', [`http://127.0.0.1:${port}/some/path?ignored=1`]);
    assert.is(outcome.stderr, '');
    assert.is(outcome.code, 0);
    const printed = lines(outcome.stdout);
    assert.is(printed[0], 'HTTP header> HTTP/1.1 200 OK');
    assert.ok(printed.every((line) => line.startsWith('HTTP header> ')), outcome.stdout);
    assert.ok(printed.includes('HTTP header> X-Example: yes'), outcome.stdout);
    assert.ok(printed.includes('HTTP header> X-Name: caf\u00e9'), outcome.stdout);
    assert.ok(printed.includes('HTTP header> Connection: close'), outcome.stdout);
    assert.equal(requests.length, 1);
    assert.is(requests[0]!.method, 'HEAD');
    assert.is(requests[0]!.url, '/some/path');
    assert.is(requests[0]!.httpVersion, '1.0');
    assert.is(requests[0]!.headers.host, '127.0.0.1');
  } finally {
    server.close();
    server.closeAllConnections();
  }
});

httpHeaders('without a URL, prints its usage and exits 2', async () => {
  const outcome = await runExample('get-http-headers');
  assert.is(outcome.code, 2);
  assert.match(outcome.stderr, /^usage: npx tsx examples\/get-http-headers\.ts URL/);
  assert.is(outcome.stdout, '');
});

const httpClient = suite('examples/http-client.ts');

httpClient("passes over interim responses (node:http's 103 Early Hints and 100 Continue): each request gets its own final response", async () => {
  const server = createHttpServer((request, response) => {
    response.writeEarlyHints({ link: '</style.css>; rel=preload' });
    if (request.url === '/second') response.writeContinue();
    response.end(`body of ${request.url}`);
  });
  server.listen(0, '127.0.0.1');
  try {
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const outcome = await runExample('http-client', [`http://127.0.0.1:${port}/first`, '/second', '/third']);
    assert.is(outcome.stderr, '');
    assert.is(outcome.code, 0);
    assert.equal(lines(outcome.stdout), ['GET /first -> 200 OK, 14 bytes', 'GET /second -> 200 OK, 15 bytes', 'GET /third -> 200 OK, 14 bytes']);
  } finally {
    server.close();
    server.closeAllConnections();
  }
});

const waitForData = suite('examples/wait-for-data.ts');

waitForData('receives abc through a socket pair and exits by itself', async () => {
  const outcome = await runExample('wait-for-data');
  assert.is(outcome.stderr, '');
  assert.is(outcome.code, 0);
  assert.is(outcome.stdout, 'Received: abc\n');
});

const demo = suite('examples/demo.ts');

demo('runs the echo server and client against each other and exits 0', async () => {
  const outcome = await runExample('demo');
  assert.is(outcome.stderr, '');
  assert.is(outcome.code, 0);
  const printed = lines(outcome.stdout);
  const side = (label: string) => printed.filter((line) => line.startsWith(label)).map((line) => line.slice(label.length));
  const server = side('server | ');
  assert.match(server[0]!, /^Serving on \[ '127\.0\.0\.1', \d+ \]$/);
  assert.match(server[1]!, /^Received 'Hello World!' from \[ '127\.0\.0\.1', \d+ \]$/);
  assert.equal(server.slice(2), ["Send: 'Hello World!'", 'Close the connection']);
  assert.equal(side('client | '), ["Send: 'Hello World!'", "Received: 'Hello World!'", 'Close the connection']);
  assert.ok(printed.indexOf("client | Received: 'Hello World!'") > printed.indexOf("server | Send: 'Hello World!'"));
  assert.is(printed.at(-1), 'Both sides closed.');
  assert.is(printed.length, 8);
});

const copyable = suite('examples/ as files to copy');

copyable("every example imports the library as 'asyncio-streams', never by a path into lib/", () => {
  const files = readdirSync(join(root, 'examples')).filter((name) => name.endsWith('.ts'));
  assert.ok(files.length >= 9, files.join(', '));
  for (const name of files) {
    const source = readFileSync(join(root, 'examples', name), 'utf8');
    // An import may span lines; `[^;]` does.
    const imports = [...source.matchAll(/^import\s[^;]*?\sfrom '([^']+)';/gm)].map((match) => match[1]!);
    assert.ok(imports.length > 0, `${name} imports something`);
    for (const specifier of imports) {
      assert.ok(specifier === 'asyncio-streams' || specifier.startsWith('node:') || /^\.\/[\w-]+\.js$/.test(specifier), `${name} imports ${specifier}`);
    }
  }
});

copyable.run();
echoClient.run();
echoServer.run();
httpHeaders.run();
httpClient.run();
waitForData.run();
demo.run();
