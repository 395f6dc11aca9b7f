// What config meshlite serves: the generation last applied and, when the
// files on disk were rejected since, why.
import type { ConfigIssue } from './diagnostics.js';

export type ConfigStatus =
  | { state: 'ok'; generation: number; loadedAt: number; files: readonly string[] }
  | {
      state: 'rejected';
      generation: number;
      loadedAt: number;
      files: readonly string[];
      rejectedAt: number;
      issues: readonly ConfigIssue[];
      totalIssues: number;
    };
