import { linkSync, lstatSync, statSync, unlinkSync, type Stats } from 'node:fs';
import type { FileIdentity, SocketFiles } from '../../_unix-socket-file.ts';

/**
 * The file calls of a Unix server's socket file (see `listenOnPath()`) over `node:fs`: the
 * Node adapter's, and the Bun adapter's, whose `Bun.listen()` servers use Bun's `node:fs`.
 *
 * @example
 * ```ts
 * nodeSocketFiles.lstat('/run/app.sock')?.isSocket; // true when a socket file is there
 * ```
 */
export const nodeSocketFiles: SocketFiles = {
  lstat: (path) => identity(lstatSync(path, { throwIfNoEntry: false })),
  stat: (path) => identity(statSync(path, { throwIfNoEntry: false })),
  link: linkSync,
  unlink: unlinkSync,
};

function identity(stats: Stats | undefined): FileIdentity | null {
  return stats === undefined ? null : { dev: stats.dev, ino: stats.ino, isSocket: stats.isSocket() };
}
