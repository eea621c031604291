/** Structured logger the engine, worker and server log through. */
export interface Logger {
  debug(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  error(message: string, meta?: Record<string, unknown>): void;
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
type Level = (typeof LEVELS)[number];

/**
 * Logs one line per entry to stderr: `level message {meta}`. The level comes from
 * CHRONICLE_LOG_LEVEL (debug, info, warn, error; default info).
 */
export function consoleLogger(level: Level = (process.env.CHRONICLE_LOG_LEVEL as Level) || 'info'): Logger {
  const min = Math.max(0, LEVELS.indexOf(level));
  const write = (l: Level) => (message: string, meta?: Record<string, unknown>) => {
    if (LEVELS.indexOf(l) < min) return;
    const tail = meta && Object.keys(meta).length ? ' ' + safeJson(meta) : '';
    process.stderr.write(`${new Date().toISOString()} ${l.toUpperCase()} ${message}${tail}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

function safeJson(meta: Record<string, unknown>): string {
  try {
    return JSON.stringify(meta, (_k, v) => (v instanceof Error ? { name: v.name, message: v.message, code: (v as { code?: unknown }).code } : v));
  } catch {
    return '[unserializable meta]';
  }
}
