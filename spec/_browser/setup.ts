/**
 * Loaded first in the browser bundle (spec/_browser/run.ts): captures what uvu prints, gives
 * the specs the few Node globals they touch, and sends the output back to the runner.
 */

/** What uvu printed so far (it prints with console.log in a browser). */
const printed: string[] = [];
const log = console.log.bind(console);
console.log = (...args: unknown[]) => {
  printed.push(args.map(String).join(' '));
  log(...args);
};

type Listener = (error: unknown) => void;
const wrapped = new Map<Listener, (event: Event) => void>();

/**
 * `process.on/off` for the specs' watch of unhandled rejections and uncaught exceptions, over
 * the page's events. No `stdout`: uvu takes a `process` with one for Node.
 */
const processShim = {
  env: {},
  on(name: string, listener: Listener) {
    const onEvent = (event: Event): void =>
      listener(event instanceof PromiseRejectionEvent ? event.reason : (event as ErrorEvent).error);
    wrapped.set(listener, onEvent);
    window.addEventListener(name === 'unhandledRejection' ? 'unhandledrejection' : 'error', onEvent);
  },
  off(name: string, listener: Listener) {
    const onEvent = wrapped.get(listener);
    if (onEvent === undefined) return;
    wrapped.delete(listener);
    window.removeEventListener(name === 'unhandledRejection' ? 'unhandledrejection' : 'error', onEvent);
  },
};

/** Node's `Buffer`, for the spec that feeds Buffers: here plain `Uint8Array`s. */
const bufferShim = {
  from: (text: string) => new TextEncoder().encode(text),
  alloc: (size: number, fill: string) => new Uint8Array(size).fill(fill.charCodeAt(0)),
};

/** Node's `setImmediate`: a macrotask, through a message port (no 4 ms timer clamping). */
const immediates: Array<() => void> = [];
const channel = new MessageChannel();
channel.port1.onmessage = () => immediates.shift()?.();
function setImmediateShim(callback: (...args: unknown[]) => void, ...args: unknown[]): void {
  immediates.push(() => callback(...args));
  channel.port2.postMessage(null);
}

const global = globalThis as Record<string, unknown>;
global.process = processShim;
global.Buffer = bufferShim;
global.setImmediate ??= setImmediateShim;
// uvu queues the suites instead of running each at once, as under its CLI.
global.UVU_DEFER = 1;

/** Sends the output (and `extra`) to the runner, which ends the browser. */
export function report(extra = ''): Promise<Response> {
  return fetch('/result', { method: 'POST', body: printed.join('') + extra });
}

window.addEventListener('error', (event) => void report(`\nPage error: ${event.message}\n`));
