export { IncompleteReadError } from './incomplete-read-error.js';
export { LimitOverrunError } from './limit-overrun-error.js';
