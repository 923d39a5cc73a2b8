/**
 * Size budgets of the browser bundles users make from the published package (esbuild,
 * minified, gzipped at level 9). The budgets were set 25-30 % above the first figures (reader
 * only 13.9 kB minified, 4.8 kB gzipped; the whole portable entry 27.0 kB, 8.7 kB gzipped),
 * room for the methods still to come, and far below what the byte-stream ponyfill adds (14.5 kB
 * gzipped). The portable entry's grew to 12 KiB when its `openConnection()` took the client
 * outline every adapter shares (`lib/_connect.ts`; 11.2 kB gzipped before, 11.4 kB after),
 * and holds the reader's pull pump as a piece of its own (`lib/_pull-source.ts`, +0.14 kB);
 * 12.5 KiB when session 11's fixes (an abort between two waits, a large read's bytes after an
 * abort, a byte source closed under a BYOB read, an aborted signal with a pair of streams, what
 * `reader.readable` takes, `drain()` after a failed write, `waitClosed()` waiting for the
 * listening sockets) took it from 12,286 B to 12,531 B; 13 KiB when session 12's (chunks of
 * their own for writables not the library's, an abort ending a write's drain, hosts checked as
 * `getaddrinfo()` checks them, a client's `startTls()` refusing unread plain bytes, bytes of
 * another realm, a stream that errors with no reason) took it to 12,979 B.
 * A change that bundles web-streams-polyfill without `asyncio-streams/polyfill`
 * fails here. With that import the polyfill is there (spec/ponyfill.spec.ts runs it).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { installPackedPackage } from './_installed-package.ts';

/** Budgets in bytes, gzipped. */
const READER_ONLY_BUDGET = 6 * 1024;
const PORTABLE_ENTRY_BUDGET = 13 * 1024;

let workDir = '';

interface Bundle {
  code: string;
  minified: number;
  gzipped: number;
}

/** Bundles `source` as an application would for a browser. */
async function bundle(name: string, source: string): Promise<Bundle> {
  const entry = join(workDir, `${name}.mjs`);
  writeFileSync(entry, source);
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
    // The optional peer dependency, for the bundle that asks for it: this repository's copy.
    nodePaths: [resolve('node_modules')],
  });
  const code = result.outputFiles[0]!.text;
  return { code, minified: Buffer.byteLength(code), gzipped: gzipSync(code, { level: 9 }).length };
}

const READER_ONLY = `
  import { StreamReader } from 'asyncio-streams';
  export async function lines(body) {
    const all = [];
    for await (const line of StreamReader.from(body)) all.push(line);
    return all;
  }
`;

const sizes = suite('browser bundle sizes');

sizes.before(() => {
  installPackedPackage('asyncio-streams-size-', (dir) => (workDir = dir));
});

sizes.after(() => {
  if (workDir !== '') rmSync(workDir, { recursive: true, force: true });
});

sizes(`a reader-only bundle is under ${READER_ONLY_BUDGET} bytes gzipped, without the polyfill`, async () => {
  const { code, gzipped, minified } = await bundle('reader', READER_ONLY);
  console.log(`  reader only: ${minified} B minified, ${gzipped} B gzipped`);
  assert.ok(gzipped < READER_ONLY_BUDGET, `${gzipped} B gzipped`);
  assert.not.match(code, /ReadableByteStreamController/, 'the polyfill is not bundled');
});

sizes(`the whole portable entry is under ${PORTABLE_ENTRY_BUDGET} bytes gzipped`, async () => {
  const { gzipped, minified } = await bundle('all', `export * from 'asyncio-streams';`);
  console.log(`  portable entry: ${minified} B minified, ${gzipped} B gzipped`);
  assert.ok(gzipped < PORTABLE_ENTRY_BUDGET, `${gzipped} B gzipped`);
});

sizes('with asyncio-streams/polyfill imported, the polyfill is bundled (package.json sideEffects keeps the import)', async () => {
  const { code, gzipped, minified } = await bundle('polyfilled', `import 'asyncio-streams/polyfill';\n${READER_ONLY}`);
  console.log(`  reader with the polyfill: ${minified} B minified, ${gzipped} B gzipped`);
  assert.match(code, /ReadableByteStreamController/);
  assert.ok(gzipped > READER_ONLY_BUDGET, 'the polyfill is in the bundle');
});

sizes.run();
