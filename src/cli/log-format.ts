// --log-format for the long-running commands (serve, agent): JSON lines for
// log shippers by default, or a readable line per entry for people at a
// terminal (time, level, message, then the fields).
import { type Command, Option } from 'commander';
import type { Logger as PinoLogger, LoggerOptions } from 'pino';

export type LogFormat = 'json' | 'pretty';

export function addLogFormatOption(command: Command): Command {
  return command.addOption(
    new Option('--log-format <format>', 'json: one JSON object per line; pretty: time, level, message and fields for reading')
      .choices(['json', 'pretty'])
      .default('json'),
  );
}

/** A pino logger writing to stdout in `format`; pino-pretty is loaded only when asked for. */
export async function createLogger(format: LogFormat, options: LoggerOptions): Promise<PinoLogger> {
  const { pino } = await import('pino');
  if (format === 'json') return pino(options);
  const { default: pretty } = await import('pino-pretty');
  // Synchronous, so the last lines before an exit are not lost; colours only on a terminal.
  const stream = pretty({
    sync: true,
    colorize: process.stdout.isTTY === true,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: true,
    // meshlite logs errors as message strings; by default err/error would get lines of their own.
    errorLikeObjectKeys: [],
  });
  return pino(options, stream);
}
