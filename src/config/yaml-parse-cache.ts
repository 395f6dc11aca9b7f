// Parsed YAML kept between loads, so a reload re-parses only the files whose
// content changed (parsing is most of a load's time). An entry is keyed by the
// name errors show and checked against a hash of the text and everything else
// the parse depends on; entries of files a load no longer read are dropped
// after it, so the cache never holds more than the current config.
import { createHash } from 'node:crypto';
import type { ConfigIssue } from './diagnostics.js';
import type { LoadLimits } from './limits.js';
import { parseYamlText, type YamlDocument } from './yaml-files.js';

export interface ParsedText {
  documents: YamlDocument[];
  issues: ConfigIssue[];
}

interface Entry {
  /** Hash of the text, the default namespace and the limits: the parse's whole input. */
  digest: string;
  parsed: ParsedText;
}

export class YamlParseCache {
  private entries = new Map<string, Entry>();
  /** Names used since the last `endLoad`: what the next sweep keeps. */
  private used = new Set<string>();
  private hits = 0;
  private misses = 0;

  /** What `parseYamlText` gives for these arguments, from the cache when the same text was parsed under the same name before. */
  readonly parse = (text: string, file: string, limits: LoadLimits, defaultNamespace?: string): ParsedText => {
    const digest = createHash('sha256')
      .update(`${defaultNamespace ?? ''}\u0000${JSON.stringify(limits)}\u0000`)
      .update(text)
      .digest('base64');
    this.used.add(file);
    const entry = this.entries.get(file);
    if (entry && entry.digest === digest) {
      this.hits += 1;
      return entry.parsed;
    }
    this.misses += 1;
    const parsed = parseYamlText(text, file, limits, defaultNamespace);
    this.entries.set(file, { digest, parsed });
    return parsed;
  };

  /** The digest of what `file` held when it was last parsed (undefined: not held). */
  digestOf(file: string): string | undefined {
    return this.entries.get(file)?.digest;
  }

  /**
   * Per resource kind, a digest of the files (name and content) that hold a
   * document of that kind: two loads whose digests agree for a kind read the
   * same documents of it. `documents`: what the last load parsed.
   */
  kindDigests(documents: readonly YamlDocument[]): Record<string, string> {
    const filesOf = new Map<string, Set<string>>();
    for (const doc of documents) {
      const kind = String((doc.value as { kind?: unknown } | null)?.kind ?? '');
      let files = filesOf.get(kind);
      if (!files) filesOf.set(kind, (files = new Set()));
      files.add(doc.file);
    }
    const digests: Record<string, string> = {};
    for (const [kind, files] of filesOf) {
      const hash = createHash('sha256');
      for (const file of [...files].sort()) hash.update(`${file}\u0000${this.digestOf(file) ?? 'unknown'}\u0000`);
      digests[kind] = hash.digest('base64');
    }
    return digests;
  }

  /** Ends a load: files it did not parse are forgotten. */
  endLoad(): void {
    for (const name of [...this.entries.keys()]) if (!this.used.has(name)) this.entries.delete(name);
    this.used = new Set();
  }

  /** Files held, and parses answered from the cache or done since the cache was made. */
  stats(): { files: number; hits: number; misses: number } {
    return { files: this.entries.size, hits: this.hits, misses: this.misses };
  }
}
