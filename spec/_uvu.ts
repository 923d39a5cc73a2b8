/**
 * uvu's CLI as an ES module, for Deno and Bun: `uvu/bin.js` loads the spec files with
 * `require()` under Bun, which refuses a module with top-level await (`_runtime.ts` has one).
 * Usage: `<runtime> spec/_uvu.ts <dir> <pattern> [ignore]`; the output is uvu's own.
 */
import { parse } from 'uvu/parse';
import { run } from 'uvu/run';

const [dir = 'spec', pattern, ignore] = process.argv.slice(2);
const context = await parse(dir, pattern, ignore === undefined ? {} : { ignore });
await run(context.suites, { bail: false });
