/**
 * What users install is what is tested: pack the package as npm would publish it, install
 * the tarball into an empty project, and use it from plain `node` (no tsx, no TypeScript).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { installPackedPackage } from './_installed-package.ts';

const packageSuite = suite('the published package');

let workDir = '';

packageSuite.before(() => {
  installPackedPackage('asyncio-streams-pack-', (dir) => (workDir = dir));
});

packageSuite.after(() => {
  if (workDir !== '') rmSync(workDir, { recursive: true, force: true });
});

packageSuite('ships JavaScript, declarations and source maps, and no specs', () => {
  const installed = join(workDir, 'node_modules', 'asyncio-streams');
  const files = ['dist/index.js', 'dist/index.d.ts', 'dist/index.js.map', 'dist/runtime/web.js', 'dist/runtime/web.d.ts', 'dist/stream-reader.d.ts', 'dist/runtime/node.js', 'dist/runtime/node.d.ts', 'README.md'];
  for (const file of files) {
    assert.ok(existsSync(join(installed, file)), `${file} is missing from the package`);
  }
  assert.not.ok(existsSync(join(installed, 'spec')), 'spec/ should not be published');
  assert.not.ok(existsSync(join(installed, 'bench')), 'bench/ should not be published');
});

packageSuite('imports from plain node and reads lines', () => {
  const script = `
    import { StreamReader, IncompleteReadError, LimitOverrunError } from 'asyncio-streams';
    const reader = StreamReader.from(new Response('one\\ntwo\\nrest').body);
    const lines = [];
    for await (const line of reader) lines.push(new TextDecoder().decode(line));
    const short = new StreamReader();
    short.feedData(new TextEncoder().encode('ab'));
    short.feedEof();
    const error = await short.readexactly(3).catch((e) => e);
    console.log(JSON.stringify({ lines, incomplete: error instanceof IncompleteReadError, message: error.message,
      overrun: typeof LimitOverrunError }));
  `;
  writeFileSync(join(workDir, 'use.mjs'), script);
  const output = execFileSync(process.execPath, ['use.mjs'], { cwd: workDir, encoding: 'utf8' });
  assert.equal(JSON.parse(output), {
    lines: ['one\n', 'two\n', 'rest'],
    incomplete: true,
    message: '2 bytes read on a total of 3 expected bytes',
    overrun: 'function',
  });
});

packageSuite('serves and connects on Node through the node entry', () => {
  const script = `
    import { startServer, openConnection } from 'asyncio-streams';
    const server = await startServer(async (reader, writer) => {
      writer.write(await reader.readline());
      await writer.drain();
      writer.close();
    }, '127.0.0.1', 0);
    const [host, port] = server.sockets[0].getsockname();
    const [reader, writer] = await openConnection(host, port);
    writer.write('ping\\n');
    const echoed = new TextDecoder().decode(await reader.readline());
    writer.close();
    await writer.waitClosed();
    server.close();
    await server.waitClosed();
    console.log(JSON.stringify(echoed));
  `;
  writeFileSync(join(workDir, 'serve.mjs'), script);
  const output = execFileSync(process.execPath, ['serve.mjs'], { cwd: workDir, encoding: 'utf8', timeout: 20_000 });
  assert.is(JSON.parse(output), 'ping\n');
});

packageSuite.run();
