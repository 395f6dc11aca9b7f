// The logging calls meshlite's components make (pino's logger satisfies it).
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  /** Optional so that minimal loggers (tests) need not have it; callers fall back to warn. */
  error?(obj: object, msg?: string): void;
}
