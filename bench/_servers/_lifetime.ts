/**
 * How every Node benchmark server ends: when its stdin closes (the driver is gone or done),
 * on SIGTERM, or after `maxSeconds` whatever happens, so none outlives a run.
 */
export function exitWithParent(maxSeconds: number): void {
  const exit = (): never => process.exit(0);
  process.stdin.on('end', exit);
  process.stdin.on('error', exit);
  process.stdin.resume();
  process.on('SIGTERM', exit);
  setTimeout(() => {
    console.error(`server still running after ${maxSeconds} s: exiting`);
    process.exit(2);
  }, maxSeconds * 1000).unref();
}

/** Prints the line the driver waits for. */
export function announcePort(port: number): void {
  process.stdout.write(`PORT ${port}\n`);
}
