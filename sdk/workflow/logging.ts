import type { LogLevel } from './activator.js';
import { getActivator } from './context.js';

type LogFunction = (message: string, attributes?: Readonly<Record<string, unknown>>) => void;

function at(level: LogLevel): LogFunction {
  return (message, attributes) => getActivator(`log.${level}()`).log(level, message, attributes);
}

/**
 * The workflow logger (Temporal's `log`): lines go to the worker's logger with the run's ids
 * attached, and are not repeated while the workflow replays. `console.log` in a workflow is
 * routed the same way.
 */
export const log: Readonly<Record<LogLevel, LogFunction>> = Object.freeze({
  trace: at('trace'),
  debug: at('debug'),
  info: at('info'),
  warn: at('warn'),
  error: at('error'),
});
