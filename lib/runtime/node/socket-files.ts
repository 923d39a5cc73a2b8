import { linkSync, lstatSync, unlinkSync } from 'node:fs';
import type { SocketFiles } from '../../_unix-socket-file.ts';

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
  lstat(path) {
    const stats = lstatSync(path, { throwIfNoEntry: false });
    return stats === undefined ? null : { dev: stats.dev, ino: stats.ino, isSocket: stats.isSocket() };
  },
  link: linkSync,
  unlink: unlinkSync,
};
