/**
 * Documentation that compiles: every ```ts block of README.md and every `@example` in lib/ is
 * type-checked (strict) against the library's sources, as a module of its own that imports
 * from `asyncio-streams`. Examples of Deno's files see the Deno entry, the rest the Node entry.
 * A snippet that names library exports without importing them (a fragment of a JSDoc example)
 * gets those imports added, and the free variables fragments use (`reader`, `writer`,
 * `socket`, `url`, ...) are declared in a prelude. Signature sketches belong in ```text fences.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { jsdocExamples, markdownSnippets, type Snippet } from './_doc-snippets.ts';

const libFiles = readdirSync('lib', { recursive: true })
  .map((file) => `lib/${String(file).replaceAll('\\', '/')}`)
  .filter((file) => file.endsWith('.ts'))
  .sort();

/** The two builds the snippets are checked in: which entry `asyncio-streams` is, and the `socket` of fragments. */
const ENTRIES = {
  node: { entry: 'lib/runtime/node.ts', socket: 'NodeSocket' },
  deno: { entry: 'lib/runtime/deno.ts', socket: 'DenoSocket' },
} as const;
type Entry = keyof typeof ENTRIES;

function entryOf(where: string): Entry {
  return /^lib\/runtime\/(deno\/|deno\.ts)/.test(where) ? 'deno' : 'node';
}

/** The names a module exports (values and types), read from its source. */
function exportedNames(file: string): Set<string> {
  const text = readFileSync(file, 'utf8');
  const names = new Set<string>();
  for (const match of text.matchAll(/^export (?:declare )?(?:abstract )?(?:async )?(?:function|class|const|let|interface|type|enum) (\w+)/gm)) {
    names.add(match[1]!);
  }
  for (const match of text.matchAll(/^export (?:type )?\{([^}]*)\}/gm)) {
    for (const part of match[1]!.split(',')) {
      const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/).pop()!.trim();
      if (name !== '') names.add(name);
    }
  }
  for (const match of text.matchAll(/^export \* from '(.+)'/gm)) {
    for (const name of exportedNames(resolve(file, '..', match[1]!.replace(/\.js$/, '.ts')))) names.add(name);
  }
  return names;
}

/** The library names `code` uses without importing or declaring them, from the entry or its own module. */
function missingImports(code: string, source: string, entry: Entry): string {
  if (/^import\s/m.test(code)) return '';
  const used = new Set(code.match(/\b[A-Za-z_]\w*\b/g) ?? []);
  const declared = new Set([...code.matchAll(/\b(?:const|let|var|class|function)\s+(\w+)/g)].map((match) => match[1]!));
  const wanted = (names: Set<string>): string[] => [...names].filter((name) => used.has(name) && !declared.has(name)).sort();
  const fromEntry = wanted(exportedNames(ENTRIES[entry].entry));
  const lines = fromEntry.length > 0 ? [`import { ${fromEntry.join(', ')} } from 'asyncio-streams';`] : [];
  if (source.startsWith('lib/')) {
    const own = wanted(exportedNames(source)).filter((name) => !fromEntry.includes(name));
    if (own.length > 0) lines.push(`import { ${own.join(', ')} } from '${resolve(source).replace(/\.ts$/, '.js')}';`);
  }
  return lines.join('\n');
}

/** The free variables of fragments, typed as the docs mean them. */
function prelude(entry: Entry): string {
  return `
    import type { ClientConnectedCallback, DenoConn, Server, StreamReader, StreamWriter, ${ENTRIES[entry].socket} } from 'asyncio-streams';
    declare global {
      const reader: StreamReader;
      const writer: StreamWriter;
      const server: Server;
      const socket: ${ENTRIES[entry].socket};
      const url: string;
      const handle: ClientConnectedCallback & ((line: Uint8Array) => void);
      const readable: ReadableStream<Uint8Array>;
      const writable: WritableStream<Uint8Array>;
      const source: ReadableStream<Uint8Array<ArrayBuffer>>;
      const response: Response;
      const chunks: Uint8Array[];
      const request: Uint8Array;
      const header: Uint8Array;
      const body: Uint8Array;
      /** A PEM file's text, by name. */
      function pem(name: string): string;
      const conn: DenoConn;
      const key: string;
      const ca: string;
      const cert: string;
      function fill(view: ArrayBufferView): Promise<number>;
      const TLSSocket: typeof import('node:tls').TLSSocket;
      const Deno: { connect(options: { hostname: string; port: number }): Promise<DenoConn> };
      /** Chromium's WebSocketStream, which TypeScript's DOM library does not have yet. */
      class WebSocketStream {
        constructor(url: string);
        readonly opened: Promise<{ readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> }>;
      }
    }
    export {};
  `;
}

let workDir = '';
/** tsc's messages, by the snippet file they are about. */
const errors = new Map<string, string[]>();
const snippets = new Map<string, { snippet: Snippet; file: string }[]>();

function check(entry: Entry, list: Snippet[]): void {
  const dir = join(workDir, entry);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'prelude.d.ts'), prelude(entry));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  list.forEach((snippet, index) => {
    const file = join(dir, `snippet-${index}.ts`);
    const source = snippet.where.replace(/:\d+$/, '');
    writeFileSync(file, `${missingImports(snippet.code, source, entry)}\n${snippet.code}\nexport {};\n`);
    snippets.set(source, [...(snippets.get(source) ?? []), { snippet, file }]);
  });
  const entryPath = resolve(ENTRIES[entry].entry);
  const compilerOptions = {
    target: 'ES2022',
    lib: ['ES2022', 'ESNext.Disposable', 'DOM', 'DOM.Iterable', 'DOM.AsyncIterable'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    allowImportingTsExtensions: true,
    skipLibCheck: true,
    types: ['node'],
    typeRoots: [resolve('node_modules/@types')],
    paths: {
      'asyncio-streams': [entryPath],
      'asyncio-streams/polyfill': [resolve('lib/polyfill.ts')],
    },
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['*.ts'] }));
  try {
    execFileSync(process.execPath, [resolve('node_modules/typescript/bin/tsc'), '-p', dir, '--pretty', 'false'], { encoding: 'utf8', timeout: 120_000 });
  } catch (error) {
    const output = String((error as { stdout?: string }).stdout ?? error);
    // tsc names files relative to the working directory; a message's further lines follow it.
    let file = '';
    for (const line of output.split('\n')) {
      const named = /^(.*?\.ts)\(\d+,\d+\)/.exec(line)?.[1];
      if (named !== undefined) file = resolve(named);
      if (line.trim() !== '') errors.set(file, [...(errors.get(file) ?? []), line]);
    }
  }
}

const docs = suite('the documentation compiles');

docs.before(() => {
  workDir = mkdtempSync(join(tmpdir(), 'asyncio-streams-docs-'));
  const all = [...markdownSnippets('README.md'), ...libFiles.flatMap(jsdocExamples)];
  for (const entry of Object.keys(ENTRIES) as Entry[]) check(entry, all.filter((snippet) => entryOf(snippet.where) === entry));
});

docs.after(() => {
  if (workDir !== '') rmSync(workDir, { recursive: true, force: true });
});

docs('nothing but the snippets has errors (the prelude, the library)', () => {
  const elsewhere = [...errors].filter(([file]) => ![...snippets.values()].flat().some((entry) => entry.file === file));
  assert.equal(elsewhere, []);
});

for (const source of ['README.md', ...libFiles]) {
  docs(`${source}: every code block type-checks`, () => {
    const failures = (snippets.get(source) ?? []).flatMap(({ snippet, file }) =>
      (errors.get(file) ?? []).map((line) => `${snippet.where}: ${line.replace(/^.*?\.ts/, '')}`),
    );
    assert.equal(failures, []);
  });
}

/** The package's entries, as `deno doc` and JSR would document them. */
const ENTRY_FILES = ['lib/index.ts', 'lib/runtime/web.ts', 'lib/runtime/node.ts', 'lib/runtime/deno.ts', 'lib/runtime/bun.ts', 'lib/polyfill.ts'];

for (const entry of ENTRY_FILES) {
  docs(`deno doc --lint finds every exported symbol of ${entry} documented`, () => {
    const run = spawnSync(resolve('node_modules/.bin/deno'), ['doc', '--lint', entry], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
      timeout: 120_000,
    });
    assert.is(run.status, 0, run.stderr);
    assert.match(run.stderr, /Checked 1 file/);
  });
}

docs('deno publish --dry-run accepts the package for JSR (deno.json), no sloppy imports, no slow types', () => {
  const run = spawnSync(resolve('node_modules/.bin/deno'), ['publish', '--dry-run', '--allow-dirty'], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
    timeout: 120_000,
  });
  // Without colour codes, should the environment ask for them.
  const output = (run.stdout + run.stderr).replace(/\x1b\[[0-9;]*m/g, '');
  assert.is(run.status, 0, output);
  assert.match(output, /Success Dry run complete/);
  assert.not.match(output, /^(warning|error)/im);
});

docs('README.md has ts blocks, and lib/ has examples', () => {
  assert.ok((snippets.get('README.md') ?? []).length >= 5);
  assert.ok([...snippets.keys()].filter((source) => source.startsWith('lib/')).length >= 15);
});

docs.run();
