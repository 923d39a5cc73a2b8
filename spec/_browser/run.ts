/**
 * The portable specs in a real browser: bundles them with esbuild, serves the bundle from
 * 127.0.0.1, opens it in headless Chromium and prints what uvu printed there (its summary is
 * what spec/_run.ts counts). Without a chromium on this machine it prints a notice and an
 * empty summary; CI installs Debian's chromium first (.ci/run).
 *
 * The specs are the reader's and the writer's that need no Node API (see BROWSER_SPECS); the
 * `node:` modules their shared helpers import are stubbed, and the few Node globals they use
 * come from setup.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';

/** Spec files that use only web APIs (the network, fixture and Node-only ones stay out). */
const BROWSER_SPECS = /^(errors|byte-buffer|separators|pull-source|stream-reader(?!-signal)[\w-]*|stream-writer|write-queue|ponyfill)\.spec\.ts$/;
const TIME_LIMIT_MS = 5 * 60 * 1000;
const SPEC_DIR = resolve('spec');

function printSummary(passed: number, total: number): void {
  console.log(`\n  Total:     ${total}\n  Passed:    ${passed}\n  Skipped:   0\n  Duration:  0ms\n`);
}

function findChromium(): string | undefined {
  for (const directory of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of ['chromium', 'chromium-browser']) {
      const path = join(directory, name);
      if (existsSync(path)) return path;
    }
  }
  return undefined;
}

/** `node:` imports of the shared spec helpers: functions that throw if a browser spec calls them. */
const stubNodeModules: Plugin = {
  name: 'stub-node-modules',
  setup(builder) {
    builder.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: 'node-stub' }));
    builder.onLoad({ filter: /.*/, namespace: 'node-stub' }, (args) => ({
      contents: ['mkdtempSync', 'rmSync', 'readFileSync', 'createServer', 'connect', 'tmpdir', 'join', 'getEventListeners']
        .map((name) => `export function ${name}() { throw new Error('${args.path} ${name}() is not available in a browser'); }`)
        .join('\n'),
      loader: 'js',
    }));
  },
};

async function bundle(): Promise<string> {
  const specs = readdirSync(SPEC_DIR).filter((name) => BROWSER_SPECS.test(name)).sort();
  const entry = [
    "import { report } from './_browser/setup.ts';",
    "const uvu = await import('uvu');",
    'const queue = globalThis.UVU_QUEUE;',
    ...specs.map((name, index) => `globalThis.UVU_INDEX = ${index}; queue.push([${JSON.stringify(name)}]); await import('./${name}');`),
    'await uvu.exec(false);',
    'await report();',
  ].join('\n');
  const result = await build({
    stdin: { contents: entry, resolveDir: SPEC_DIR, sourcefile: 'browser-entry.ts', loader: 'ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'warning',
    plugins: [stubNodeModules],
  });
  return result.outputFiles[0]!.text;
}

/** Serves the page and the bundle; resolves with what the page posts to /result. */
function serve(script: string): Promise<{ url: string; result: Promise<string>; close(): void }> {
  let deliver!: (text: string) => void;
  const result = new Promise<string>((resolve) => (deliver = resolve));
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    if (request.method === 'POST' && request.url === '/result') {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        response.writeHead(204).end();
        deliver(body);
      });
    } else if (request.url === '/bundle.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    } else if (request.url === '/') {
      response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>specs</title><script type="module" src="/bundle.js"></script>');
    } else {
      response.writeHead(404).end();
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}/`, result, close: () => server.close() });
    });
  });
}

function launch(chromium: string, url: string, profile: string): ChildProcess {
  const flags = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-dev-shm-usage',
    '--remote-debugging-port=0',
    `--user-data-dir=${profile}`,
  ];
  // Its own process group, so that ending it ends its renderer and helper processes too.
  return spawn(chromium, [...flags, url], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
}

const chromium = findChromium();
if (chromium === undefined) {
  console.log('chromium is not installed: the browser suite is skipped (CI installs it, see .ci/run)');
  printSummary(0, 0);
} else {
  const page = await serve(await bundle());
  const profile = mkdtempSync(join(tmpdir(), 'asyncio-streams-chromium-'));
  const browser = launch(chromium, page.url, profile);
  let stderr = '';
  browser.stderr!.setEncoding('utf8');
  browser.stderr!.on('data', (text: string) => (stderr += text));
  const exited = new Promise<string>((resolve) => browser.once('exit', (code) => resolve(`chromium exited (code ${code}) before the specs reported:\n${stderr}`)));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no result from the page within ${TIME_LIMIT_MS / 1000} s`), TIME_LIMIT_MS);
  });
  const output = await Promise.race([page.result, exited, timedOut]);
  clearTimeout(timer);
  const ended = new Promise((resolve) => (browser.exitCode === null ? browser.once('exit', resolve) : resolve(null)));
  try {
    process.kill(-browser.pid!, 'SIGTERM');
  } catch {
    // Gone already.
  }
  await ended;
  page.close();
  // Helper processes may still be writing the profile for a moment.
  rmSync(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  console.log(`Chromium ${chromium}\n${output}`);
  if (!/Total:\s+\d+/.test(output)) {
    console.error('the browser specs did not finish');
    process.exitCode = 1;
  }
}
