import type { ClientErrorHandler } from './options.ts';
import { UNIX_PATH_MAX } from './_checks.ts';
import type { ServerListener } from './server.ts';

/** What identifies a file: its device and inode (CPython compares the inode). */
export interface FileIdentity {
  dev: number;
  ino: number;
  isSocket: boolean;
}

/**
 * The file calls a Unix server's socket file needs, from the runtime adapter. Synchronous, as
 * `Server.close()` is: the file is gone (or left) once it returns, as CPython's.
 */
export interface SocketFiles {
  /** `lstat()`; `null` when nothing is there. */
  lstat(path: string): FileIdentity | null;
  /** `stat()`, which follows a symlink; `null` when nothing is there (or the link dangles). */
  stat(path: string): FileIdentity | null;
  /** `link()`: a second name for a file; fails when `to` exists (the runtime's EEXIST error). */
  link(from: string, to: string): void;
  /** `unlink()`: fails when nothing is there. */
  unlink(path: string): void;
}

const encoder = new TextEncoder();

/** A name no one else uses beside `path`, in its directory (a link cannot cross file systems). */
function privateNameBeside(path: string): string {
  const directory = path.slice(0, path.lastIndexOf('/') + 1);
  return `${directory}.asyncio-streams-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Listens on a Unix socket at `path` and returns the listener whose `close()` removes the
 * socket file when `cleanupSocket` is true and the file at `path` is still the one it created
 * (same device and inode), as CPython 3.13's `cleanup_socket`; with false the file is left.
 *
 * Node, Bun and Deno all unlink the path a Unix listener was bound to when it closes, whatever
 * file is there by then and with no way to say no. So the socket is bound under a private name
 * beside `path`, linked to `path` (which fails, as binding would, when something is there) and
 * the private name removed: the runtime's unlink at close then finds nothing. A stale socket
 * file at `path` (or a symlink to one) is removed first, as CPython does; anything else there
 * stays and binding fails.
 *
 * @param path the socket's path
 * @param cleanupSocket whether closing removes the file
 * @param files the runtime's file calls
 * @param listen binds and listens on the path it is given
 * @param onError hears about a socket file closing could not remove (CPython logs it)
 * @returns the listener; `getsockname()` is `path`
 * @throws what `listen` throws, and the file calls' errors
 * @example
 * ```ts
 * declare const nodeFiles: SocketFiles;
 * declare const listen: Parameters<typeof listenOnPath>[3]; // binds and listens on a path
 * const listener = await listenOnPath('/run/app.sock', true, nodeFiles, listen, console.error);
 * ```
 */
export async function listenOnPath(
  path: string,
  cleanupSocket: boolean,
  files: SocketFiles,
  listen: (path: string) => Promise<ServerListener>,
  onError: ClientErrorHandler,
): Promise<ServerListener> {
  // A Linux abstract name (a leading NUL) is no file: nothing to remove, link or clean up (CPython).
  if (path.startsWith('\0')) return listen(path);
  // As CPython's os.stat(): a symlink to a socket file is removed too (the link, not its target).
  if (files.stat(path)?.isSocket === true) files.unlink(path);
  const privatePath = privateNameBeside(path);
  if (encoder.encode(privatePath).byteLength >= UNIX_PATH_MAX) {
    // No room for a private name: bound at `path`, which the runtime removes at close.
    if (!cleanupSocket) throw new RangeError(`cleanupSocket: false needs a shorter path, to bind it under a private name first: ${path}`);
    return listen(path);
  }
  let listener: ServerListener;
  try {
    listener = await listen(privatePath);
  } catch {
    // No directory, no permission, ...: the runtime's own error, naming `path`.
    return listen(path);
  }
  try {
    files.link(privatePath, path);
  } catch {
    // Something is at `path`: binding there fails with the runtime's own error (EADDRINUSE).
    // The private name is removed first: Deno's close() does it only later.
    try {
      files.unlink(privatePath);
    } finally {
      listener.close();
    }
    return listen(path);
  }
  let created: FileIdentity | null;
  try {
    files.unlink(privatePath);
    created = files.lstat(path);
  } catch (error) {
    listener.close();
    throw error;
  }
  return {
    getsockname: () => path,
    // What the listener's close() returns (Deno's socket closes a turn later) is returned too,
    // so that waitClosed() waits for it, as for a TCP listener.
    close: () => {
      const closing = listener.close();
      if (!cleanupSocket || created === null) return closing;
      try {
        const now = files.lstat(path);
        if (now !== null && now.dev === created.dev && now.ino === created.ino) files.unlink(path);
      } catch (error) {
        onError(error, { message: `Unable to clean up listening UNIX socket '${path}'`, transport: null });
      }
      return closing;
    },
  };
}
