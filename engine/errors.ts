// The error classes live in protocol/ so that code inside the workflow sandbox can raise
// the same coded errors (for instance InvalidArgumentError for bad activity options).
export * from './protocol/errors.js';
