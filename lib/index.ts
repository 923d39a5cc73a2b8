export { IncompleteReadError } from './incomplete-read-error.js';
export { LimitOverrunError } from './limit-overrun-error.js';
export { StreamReader } from './stream-reader.js';
export type { ReadOptions, ReadingTransport, Separator, StreamReaderOptions } from './stream-reader.js';
