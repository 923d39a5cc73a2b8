/**
 * The package's `exports` conditions pick the adapter: the packed tarball, installed into an
 * empty project, serves and connects under Deno (`deno` → `DenoSocket`) and Bun (`bun` →
 * `BunSocket`, over `Bun.listen`/`Bun.connect`), and a browser bundle (`browser`, made by esbuild) gets the portable entry.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { installPackedPackage } from './_installed-package.ts';

const bin = (name: string): string => resolve('node_modules', '.bin', name);
const packageSuite = suite('the published package on every runtime');

let workDir = '';

packageSuite.before(() => {
  installPackedPackage('asyncio-streams-runtimes-', (dir) => (workDir = dir));
  writeFileSync(join(workDir, 'serve.mjs'), `
    import * as api from 'asyncio-streams';
    const server = await api.startServer(async (reader, writer) => {
      writer.write(await reader.readline());
      writer.close();
    }, '127.0.0.1', 0);
    const [host, port] = server.sockets[0].getsockname();
    const [reader, writer] = await api.openConnection(host, port);
    writer.write('ping\\n');
    const echoed = new TextDecoder().decode(await reader.readline());
    const transport = writer.transport.constructor.name;
    writer.close();
    await writer.waitClosed();
    server.close();
    await server.waitClosed();
    console.log(JSON.stringify({ echoed, transport }));
  `);
});

packageSuite.after(() => {
  if (workDir !== '') rmSync(workDir, { recursive: true, force: true });
});

function run(command: string, args: string[]): unknown {
  const output = execFileSync(command, args, {
    cwd: workDir,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
  });
  return JSON.parse(output);
}

packageSuite('Deno gets the Deno adapter (the deno condition)', () => {
  assert.equal(run(bin('deno'), ['run', '--allow-all', 'serve.mjs']), { echoed: 'ping\n', transport: 'DenoSocket' });
});

packageSuite('Bun gets the Bun entry, over Bun\'s own sockets (the bun condition)', () => {
  assert.equal(run(bin('bun'), ['serve.mjs']), { echoed: 'ping\n', transport: 'BunSocket' });
});

packageSuite('a browser bundle gets the portable entry: pairs of streams, and a clear error for host and port', () => {
  writeFileSync(join(workDir, 'browser.mjs'), `
    import * as api from 'asyncio-streams';
    const error = await api.openConnection('127.0.0.1', 1).catch((e) => e.message);
    const pair = { readable: new Response('a\\nb').body, writable: new WritableStream() };
    const [reader] = await api.openConnection(null, null, { sock: pair });
    const line = new TextDecoder().decode(await reader.readline());
    console.log(JSON.stringify({ error, line, adapters: 'NodeSocket' in api || 'DenoSocket' in api || 'BunSocket' in api }));
  `);
  execFileSync(bin('esbuild'), ['browser.mjs', '--bundle', '--format=esm', '--platform=browser', '--outfile=bundle.mjs', '--log-level=warning'], {
    cwd: workDir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const result = run(process.execPath, ['bundle.mjs']) as { error: string; line: string; adapters: boolean };
  assert.match(result.error, /no WinterTC connect\(\)/);
  assert.is(result.line, 'a\n');
  assert.is(result.adapters, false, 'no runtime adapter in the browser bundle');
});

packageSuite.run();
