/**
 * The package as a TypeScript user's project sees it: the packed tarball, installed into an
 * empty project, linted by publint and @arethetypeswrong/core (offline, from the tarball's
 * bytes), and type-checked from consumer projects that cover what users run: the oldest
 * TypeScript the declarations support (5.0) and the newest, `module: nodenext` and
 * `moduleResolution: bundler`, a browser project without Node's types, and
 * `exactOptionalPropertyTypes`. Every project checks the type tests of spec/types/ against the
 * published declarations, with `skipLibCheck: false`, so the declarations themselves are
 * checked too.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { publint } from 'publint';
import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';
import { installPackedPackage } from './_installed-package.ts';

/** The compilers of the matrix: the newest (the repository's own) and the oldest supported. */
const COMPILERS = {
  '5.0': resolve('spec/typescript-versions/node_modules/typescript-5.0/bin/tsc'),
  newest: resolve('node_modules/typescript/bin/tsc'),
} as const;

interface Consumer {
  name: string;
  compiler: keyof typeof COMPILERS;
  compilerOptions: Record<string, unknown>;
  /** The type tests of spec/types/ this project checks. */
  files: string[];
}

const NODE_TYPES = { types: ['node'], typeRoots: [resolve('node_modules/@types')] };
const NODENEXT = { module: 'NodeNext', moduleResolution: 'NodeNext', ...NODE_TYPES };
const BUNDLER = { module: 'ESNext', moduleResolution: 'Bundler', ...NODE_TYPES };
/** A browser project: no Node types, no `esnext.disposable` in its lib. */
const DOM_ONLY = { module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM', 'DOM.Iterable'], types: [] };
const EVERYWHERE = ['public-api.ts', 'web.ts'];
const ON_NODE = [...EVERYWHERE, 'node.ts'];

const consumers: Consumer[] = [
  { name: 'TypeScript 5.0, nodenext', compiler: '5.0', compilerOptions: NODENEXT, files: [...ON_NODE, 'node-conditional.ts'] },
  { name: 'the newest TypeScript, nodenext', compiler: 'newest', compilerOptions: NODENEXT, files: [...ON_NODE, 'node-conditional.ts'] },
  { name: 'TypeScript 5.0, bundler', compiler: '5.0', compilerOptions: BUNDLER, files: ON_NODE },
  { name: 'the newest TypeScript, bundler', compiler: 'newest', compilerOptions: BUNDLER, files: ON_NODE },
  { name: 'TypeScript 5.0, a DOM-only browser project', compiler: '5.0', compilerOptions: DOM_ONLY, files: EVERYWHERE },
  { name: 'the newest TypeScript, a DOM-only browser project', compiler: 'newest', compilerOptions: DOM_ONLY, files: EVERYWHERE },
  {
    name: 'the newest TypeScript, nodenext, exactOptionalPropertyTypes',
    compiler: 'newest',
    compilerOptions: { ...NODENEXT, exactOptionalPropertyTypes: true },
    files: [...ON_NODE, 'node-conditional.ts'],
  },
];

let workDir = '';
let tarball: Uint8Array;

/** Compiles `consumer`'s project with its TypeScript; returns what tsc printed, '' when clean. */
function compile(consumer: Consumer, files = consumer.files): string {
  const dir = join(workDir, consumer.name.replace(/\W+/g, '-'));
  mkdirSync(join(dir, 'types'), { recursive: true });
  for (const file of ['_equal.ts', ...files]) cpSync(join('spec', 'types', file), join(dir, 'types', file));
  const compilerOptions = {
    target: 'ES2022',
    lib: ['ES2022', 'DOM', 'DOM.Iterable'],
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    ...consumer.compilerOptions,
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['types'] }));
  // The project's package.json and node_modules are the installed package's.
  cpSync(join(workDir, 'package.json'), join(dir, 'package.json'));
  cpSync(join(workDir, 'node_modules'), join(dir, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  try {
    execFileSync(process.execPath, [COMPILERS[consumer.compiler], '-p', dir], { encoding: 'utf8', timeout: 120_000 });
    return '';
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? error);
  }
}

const lint = suite('the packed tarball, linted');

lint.before(() => {
  installPackedPackage('asyncio-streams-types-', (dir) => (workDir = dir));
  tarball = readFileSync(join(workDir, readdirSync(workDir).find((name) => name.endsWith('.tgz'))!));
});

lint('publint (strict) finds nothing to report', async () => {
  const { messages } = await publint({ pack: { tarball: tarball.slice().buffer }, strict: true, level: 'suggestion' });
  assert.equal(messages.map((message) => `${message.type} ${message.code} at ${message.path.join('.')}`), []);
});

lint('arethetypeswrong finds no problem for ESM consumers on any entry', async () => {
  const result = await checkPackage(createPackageFromTarballData(tarball));
  assert.ok(result.types, 'the package has types');
  const entrypoints = Object.keys(result.entrypoints).sort();
  assert.equal(entrypoints, ['.', './bun', './deno', './node', './package.json', './polyfill', './web']);
  // An ESM-only package (attw's esm-only profile): CommonJS under node10 and node16 is not served.
  const problems = 'problems' in result ? result.problems : [];
  const relevant = problems.filter((problem) => !('resolutionKind' in problem) || !['node10', 'node16-cjs'].includes(problem.resolutionKind));
  assert.equal(relevant, []);
});

lint.run();

const matrix = suite("a consumer's TypeScript, with skipLibCheck: false");

for (const consumer of consumers) {
  matrix(`${consumer.name}: the type tests and the declarations check`, () => {
    assert.is(compile(consumer), '');
  });
}

matrix('bundler resolves asyncio-streams itself to the portable entry: the Node API is under /node', () => {
  const output = compile({ ...consumers[3]!, name: 'bundler, conditional' }, ['node-conditional.ts']);
  assert.match(output, /has no exported member 'socketpair'/);
});

matrix.after(() => {
  if (workDir !== '') rmSync(workDir, { recursive: true, force: true });
});

matrix.run();
