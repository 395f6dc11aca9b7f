// MeshConfig's access log fields (accessLogFile, accessLogEncoding,
// accessLogFormat), checked and turned into AccessLogSettings. Envoy rejects a
// malformed format when the listener loads, and that rejection would hold
// back every listener update of every proxy: the syntax is checked here.
import type { PathSegment } from '../diagnostics.js';
import type { AccessLogSettings } from '../types.js';

type Report = (path: PathSegment[], message: string) => void;

/**
 * Envoy's command operator syntax: `%NAME%`, `%NAME(param)%`, optionally a
 * `:length` cap before the closing `%`. The parameter may hold `%` (as in
 * `%START_TIME(%s)%`) but not `)`.
 */
const OPERATOR = /^%([A-Z][A-Z0-9_]*)(\([^)]*\))?(:\d+)?%/;

/** Why `format` is not a valid Envoy format string, or undefined. `%%` is a literal percent sign. */
export function formatProblem(format: string): string | undefined {
  for (let i = 0; i < format.length; i++) {
    if (format[i] !== '%') continue;
    if (format[i + 1] === '%') {
      i++;
      continue;
    }
    const match = OPERATOR.exec(format.slice(i));
    if (!match) {
      const name = /^%([A-Z][A-Z0-9_]*)/.exec(format.slice(i))?.[1];
      return name
        ? `operator %${name} at position ${i} is not closed (expected %${name}%, %${name}(param)% or %${name}:length%)`
        : `lone "%" at position ${i} (command operators look like %RESPONSE_CODE%; write %% for a literal percent sign)`;
    }
    i += match[0].length - 1;
  }
  return undefined;
}

/** A JSON template: a JSON object whose values are all format strings. */
function parseJsonTemplate(text: string, path: PathSegment[], report: Report): Record<string, string> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    report(path, `with accessLogEncoding JSON the format must be a JSON object: ${(err as Error).message}`);
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    report(path, 'with accessLogEncoding JSON the format must be a JSON object of field names to format strings');
    return undefined;
  }
  const template: Record<string, string> = {};
  let ok = Object.keys(parsed).length > 0;
  if (!ok) report(path, 'the JSON format has no fields');
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') {
      report(path, `JSON format field "${key}" must be a string (a format such as "%RESPONSE_CODE%"), got ${JSON.stringify(value)}`);
      ok = false;
      continue;
    }
    const problem = formatProblem(value);
    if (problem) {
      report(path, `JSON format field "${key}": ${problem}`);
      ok = false;
    }
    template[key] = value;
  }
  return ok ? template : undefined;
}

/** The settings of a MeshConfig spec (schema-checked already), or undefined when accessLogFile is unset or empty. */
export function accessLogSettings(spec: Record<string, unknown>, report: Report): AccessLogSettings | undefined {
  const path = spec.accessLogFile as string | undefined;
  if (path === undefined || path === '') return undefined;
  if (!path.startsWith('/') || /[\0\r\n]/.test(path)) {
    report(['spec', 'accessLogFile'], `"${path}" must be an absolute path (such as /dev/stdout) without NUL, CR or LF`);
    return undefined;
  }
  const encoding = (spec.accessLogEncoding as 'TEXT' | 'JSON' | undefined) ?? 'TEXT';
  const settings: AccessLogSettings = { path, encoding };
  const format = spec.accessLogFormat as string | undefined;
  if (format === undefined || format === '') return settings;
  const at: PathSegment[] = ['spec', 'accessLogFormat'];
  if (encoding === 'JSON') {
    const json = parseJsonTemplate(format, at, report);
    if (json) settings.json = json;
    return settings;
  }
  const problem = formatProblem(format);
  if (problem) report(at, problem);
  // Each entry is one line: like Istio, a format without a trailing newline gets one.
  else settings.text = format.endsWith('\n') ? format : `${format}\n`;
  return settings;
}
