/**
 * The code of the documentation, as snippets to type-check: every ```ts block of a Markdown
 * file and every `@example` of a JSDoc comment (fenced in ```ts, or bare up to the next tag).
 */
import { readFileSync } from 'node:fs';

export interface Snippet {
  /** Where it was found: `README.md:21`, `lib/server.ts:57`. */
  where: string;
  code: string;
}

function lineAt(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

/**
 * The ```ts blocks of a Markdown file (```text, ```sh and the rest are not code to check).
 *
 * @example
 * markdownSnippets('README.md'); // [{ where: 'README.md:21', code: "import ..." }, ...]
 */
export function markdownSnippets(file: string): Snippet[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => ({
    where: `${file}:${lineAt(text, match.index + 6)}`,
    code: match[1]!,
  }));
}

/**
 * The `@example`s of the JSDoc comments of a TypeScript file.
 *
 * @example
 * jsdocExamples('lib/server.ts'); // [{ where: 'lib/server.ts:57', code: "import ..." }]
 */
export function jsdocExamples(file: string): Snippet[] {
  const text = readFileSync(file, 'utf8');
  const snippets: Snippet[] = [];
  for (const comment of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const lines = comment[0].split('\n').map((line) => line.replace(/^\s*\/?\*+\/?\s?/, '').replace(/\s*\*\/$/, ''));
    lines.forEach((line, index) => {
      if (!line.startsWith('@example')) return;
      const body: string[] = [];
      for (const next of lines.slice(index + 1)) {
        if (next.startsWith('@')) break;
        body.push(next);
      }
      const block = body.join('\n');
      const fenced = /```ts\n([\s\S]*?)```/.exec(block);
      snippets.push({
        where: `${file}:${lineAt(text, comment.index) + index}`,
        code: fenced ? fenced[1]! : block,
      });
    });
  }
  return snippets;
}
