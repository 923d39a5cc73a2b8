import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fixturePath, SERVER } from './_tls.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Far above the second or so the example takes, so only a hang trips it. */
const TIME_LIMIT_MS = 30_000;

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node --import tsx examples/get-http-headers.ts URL` with `env` added. */
function getHttpHeaders(url: string, env: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'examples/get-http-headers.ts', url],
      { cwd: root, env: { ...process.env, ...env }, timeout: TIME_LIMIT_MS },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A node:https server on 127.0.0.1 with the test certificate, recording each request. */
async function httpsServer(): Promise<{ server: HttpsServer; port: number; requests: Array<{ method?: string; url?: string; host?: string }> }> {
  const requests: Array<{ method?: string; url?: string; host?: string }> = [];
  const server = createServer({ cert: SERVER.cert as string, key: SERVER.key as string }, (request, response) => {
    requests.push({ method: request.method, url: request.url, host: request.headers.host });
    response.setHeader('X-Example', 'tls');
    response.end('the body, never printed');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, requests };
}

const https = suite('examples/get-http-headers.ts over https');

https('prints the headers of a local https server whose CA it is told to trust', async () => {
  const { server, port, requests } = await httpsServer();
  try {
    const outcome = await getHttpHeaders(`https://127.0.0.1:${port}/secure/path`, {
      NODE_EXTRA_CA_CERTS: fixturePath('ca'),
    });
    assert.is(outcome.stderr, '');
    assert.is(outcome.code, 0);
    const printed = outcome.stdout.split('\n').filter((line) => line !== '');
    assert.is(printed[0], 'HTTP header> HTTP/1.1 200 OK');
    assert.ok(printed.every((line) => line.startsWith('HTTP header> ')), outcome.stdout);
    assert.ok(printed.includes('HTTP header> X-Example: tls'), outcome.stdout);
    assert.equal(requests, [{ method: 'HEAD', url: '/secure/path', host: '127.0.0.1' }]);
  } finally {
    server.close();
    server.closeAllConnections();
  }
});

https('fails with the certificate error when the CA is not trusted', async () => {
  const { server, port, requests } = await httpsServer();
  try {
    const outcome = await getHttpHeaders(`https://127.0.0.1:${port}/`, { NODE_EXTRA_CA_CERTS: '' });
    assert.is.not(outcome.code, 0);
    assert.match(outcome.stderr, /UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    assert.is(outcome.stdout, '');
    assert.equal(requests, []);
  } finally {
    server.close();
    server.closeAllConnections();
  }
});

https.run();
