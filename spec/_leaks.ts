/**
 * Leak checks for the specs that open sockets: the process's open socket descriptors (Linux,
 * /proc/self/fd), all its descriptors and their limit, and `leakFree()`, which runs a test body
 * and fails it when the body left an unhandled rejection or an uncaught exception, or did not
 * give back every socket it took.
 *
 * Leaks are counted in sockets, not in all descriptors: Node opens descriptors of its own as it
 * goes (from Node 22 on, io_uring rings and eventfds for its thread pool), which come and go with
 * no socket of ours involved. And only in non-blocking sockets, the ones an event loop polls,
 * which every connection and server is on Node, Deno and Bun: Deno opens a blocking Unix socket
 * pair of its own about half a second after it starts (for the thread that waits for its
 * signals), once per process, in whichever test is running then.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { watchUnhandled } from './_loopback.ts';

/**
 * Open file descriptors of this process right now, of any kind (Linux: the entries of
 * /proc/self/fd): what counts against the descriptor limit.
 */
export function openFileDescriptors(): number {
  // readdirSync opens the directory itself while it lists it, and closes it after.
  return readdirSync('/proc/self/fd').length - 1;
}

/** `O_NONBLOCK` in the octal `flags:` of /proc/self/fdinfo/N. */
const O_NONBLOCK = 0o4000;

/** Whether descriptor `fd` is non-blocking: one the runtime's event loop polls. */
function nonBlocking(fd: string): boolean {
  const flags = /^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
  return flags !== undefined && (parseInt(flags, 8) & O_NONBLOCK) !== 0;
}

/**
 * Open socket descriptors of this process's event loop right now: the /proc/self/fd links to
 * `socket:[inode]` that are non-blocking (see above for why).
 */
export function openSockets(): number {
  let sockets = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:') && nonBlocking(fd)) sockets += 1;
    } catch {
      // Closed between the listing and the look (the listing's own descriptor, for one).
    }
  }
  return sockets;
}

/** The soft limit on open files (`ulimit -n`); Infinity when it is unlimited or unknown. */
export function fileDescriptorLimit(): number {
  try {
    const line = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    const soft = line?.[1];
    return soft === undefined || soft === 'unlimited' ? Infinity : Number(soft);
  } catch {
    return Infinity;
  }
}

/** Waits (at most `ms`) for the socket count to come back to `target`; returns the last count. */
export async function socketsBackTo(target: number, ms = 5000): Promise<number> {
  const deadline = Date.now() + ms;
  let count = openSockets();
  while (count > target && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    count = openSockets();
  }
  return count;
}

/** Runs `body`, then fails if it left anything unhandled or kept a socket it opened. */
export async function leakFree(body: () => Promise<void>): Promise<void> {
  const watch = watchUnhandled();
  const before = openSockets();
  try {
    await body();
  } finally {
    await watch.stop();
  }
  // At most as many as before: a socket an earlier spec was still closing may be gone by now.
  const after = await socketsBackTo(before);
  assert.ok(after <= before, `every socket descriptor is given back (${before} before, ${after} after)`);
}
