// Turns a finding's resource and field path into file:line:column, from the
// YAML documents the config was read from (each resource remembers the file
// and first line of its document).
import type { YamlDocument } from '../config/yaml-files.js';
import type { FieldLocator } from './finding.js';

export function documentLocator(documents: readonly YamlDocument[]): FieldLocator {
  const byStart = new Map<string, YamlDocument>();
  for (const doc of documents) byStart.set(`${doc.file}\u0000${doc.locate([]).line}`, doc);
  return (source, path) => {
    const doc = byStart.get(`${source.file}\u0000${source.line}`);
    return doc?.locate(path);
  };
}
