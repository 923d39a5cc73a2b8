/**
 * How a bulk receiver (`bulk-node.ts`, `bulk-deno.ts`) times its run and reports it: from the
 * first byte to EOF, wall time and the process's CPU time, in the `BULK {...}` line that
 * `bulk.bench.ts` reads; then the process exits (1 when the byte count is wrong).
 */
function cpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

export class BulkClock {
  private startedAt = 0;
  private cpuAtStart = 0;
  private readonly total: number;

  /** `total`: the bytes the receiver must read. */
  constructor(total: number) {
    this.total = total;
  }

  /** At the first byte; later calls change nothing. */
  start(): void {
    if (this.startedAt) return;
    this.startedAt = performance.now();
    this.cpuAtStart = cpuSeconds();
  }

  finish(bytes: number, reads: number): never {
    const seconds = (performance.now() - this.startedAt) / 1000;
    const cpu = cpuSeconds() - this.cpuAtStart;
    const totalCpuSeconds = cpuSeconds();
    const maxRssMB = process.resourceUsage().maxRSS / 1024;
    process.stdout.write(`BULK ${JSON.stringify({ bytes, seconds, cpuSeconds: cpu, reads, totalCpuSeconds, maxRssMB })}\n`);
    if (bytes !== this.total) {
      console.error(`read ${bytes} bytes, expected ${this.total}`);
      process.exit(1);
    }
    process.exit(0);
  }
}

export function fail(error: unknown): never {
  console.error(error);
  process.exit(1);
}
