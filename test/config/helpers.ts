// Shared helpers for the config loader tests: load in-memory YAML files and
// compare the outcome exactly (issues as `file:line:col: path: message`).
import * as assert from 'uvu/assert';
import { formatIssue } from '../../src/config/diagnostics.js';
import { buildConfigSet, type LoadResult } from '../../src/config/load-config.js';
import type { ConfigSet } from '../../src/config/types.js';
import { parseYamlText, type YamlDocument } from '../../src/config/yaml-files.js';
import type { ConfigIssue } from '../../src/config/diagnostics.js';

/**
 * Template tag that strips the common indentation and the first newline, so
 * line 1 of the YAML is the line right after the opening backtick.
 */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  let text = strings.reduce((acc, s, i) => acc + s + (i < values.length ? String(values[i]) : ''), '');
  text = text.replace(/^\n/, '').replace(/\n[ ]*$/, '\n');
  const lines = text.split('\n');
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(cut)).join('\n');
}

/** Loads YAML texts keyed by file name, in the given order, like loadConfig does. */
export function loadTexts(files: Record<string, string>): LoadResult {
  const documents: YamlDocument[] = [];
  const issues: ConfigIssue[] = [];
  for (const [file, text] of Object.entries(files)) {
    const parsed = parseYamlText(text, file);
    documents.push(...parsed.documents);
    issues.push(...parsed.issues);
  }
  return buildConfigSet(documents, issues, Object.keys(files));
}

/** The issues of a load that must fail, formatted one per line. */
export function issuesOf(files: Record<string, string> | string): string[] {
  const result = loadTexts(typeof files === 'string' ? { 'test.yaml': files } : files);
  if (result.ok) assert.unreachable('expected the config to be rejected, but it loaded');
  return result.ok ? [] : result.issues.map(formatIssue);
}

/** Asserts the exact, complete list of issues (order included). */
export function expectIssues(files: Record<string, string> | string, expected: string[]): void {
  assert.equal(issuesOf(files), expected);
}

/** The config of a load that must succeed; fails the test with the issues otherwise. */
export function configOf(files: Record<string, string> | string): ConfigSet {
  const result = loadTexts(typeof files === 'string' ? { 'test.yaml': files } : files);
  if (!result.ok) assert.unreachable(`expected the config to load, got:\n${result.issues.map(formatIssue).join('\n')}`);
  return (result as Extract<LoadResult, { ok: true }>).config;
}

/** Plain-object view of a port-keyed map, for deep equality. */
export function entries<V>(map: ReadonlyMap<number, V>): [number, V][] {
  return [...map.entries()];
}
