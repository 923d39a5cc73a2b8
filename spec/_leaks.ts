/**
 * Leak checks for the specs that open sockets: the process's open file descriptors (Linux,
 * /proc/self/fd), its descriptor limit, and `leakFree()`, which runs a test body and fails it
 * when the body left an unhandled rejection or an uncaught exception, or did not give back
 * every descriptor it took.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { watchUnhandled } from './_loopback.js';

/** Open file descriptors of this process right now (Linux: the entries of /proc/self/fd). */
export function openFileDescriptors(): number {
  // readdirSync opens the directory itself while it lists it, and closes it after.
  return readdirSync('/proc/self/fd').length - 1;
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

/** Waits (at most `ms`) for the descriptor count to come back to `target`; returns the last count. */
export async function fileDescriptorsBackTo(target: number, ms = 5000): Promise<number> {
  const deadline = Date.now() + ms;
  let count = openFileDescriptors();
  while (count > target && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    count = openFileDescriptors();
  }
  return count;
}

/** Runs `body`, then fails if it left anything unhandled or kept a file descriptor it opened. */
export async function leakFree(body: () => Promise<void>): Promise<void> {
  const watch = watchUnhandled();
  const before = openFileDescriptors();
  try {
    await body();
  } finally {
    await watch.stop();
  }
  assert.is(await fileDescriptorsBackTo(before), before, 'every file descriptor is given back');
}
