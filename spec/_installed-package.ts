/**
 * The package as users get it: packed as npm would publish it and installed from the tarball
 * into an empty ES-module project, for the specs that use it from outside this repository.
 */
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/**
 * Makes a temporary project, packs this package into it and installs the tarball there. The
 * folder is handed to `created` first, so the caller can remove it even if packing fails.
 *
 * @example
 * installPackedPackage('asyncio-streams-pack-', (dir) => (workDir = dir));
 * // join(workDir, 'node_modules', 'asyncio-streams') now holds the published files
 */
export function installPackedPackage(prefix: string, created: (workDir: string) => void): void {
  const workDir = mkdtempSync(join(tmpdir(), prefix));
  created(workDir);
  execFileSync(npm, ['pack', '--pack-destination', workDir, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const tarball = readdirSync(workDir).find((name) => name.endsWith('.tgz'));
  assert.ok(tarball, 'npm pack made no tarball');
  writeFileSync(join(workDir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  execFileSync(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--silent', join(workDir, tarball)], {
    cwd: workDir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
