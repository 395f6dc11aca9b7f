// What config meshlite serves: the generation last applied and, when the
// files on disk were rejected since, why.
import type { ConfigIssue } from './diagnostics.js';

export type FindingSeverity = 'Error' | 'Warning' | 'Info';

/** Advice on a config that loaded (see src/analyze): never a reason to reject it. */
export interface ConfigFinding {
  /** Stable, e.g. `ML0101`. */
  code: string;
  severity: FindingSeverity;
  kind: string;
  namespace: string;
  name: string;
  file: string;
  line: number;
  column: number;
  /** Dotted field path inside the resource, e.g. `spec.trafficPolicy.tls.mode`. */
  field: string;
  message: string;
}

export type ConfigStatus =
  | { state: 'ok'; generation: number; loadedAt: number; files: readonly string[]; findings?: readonly ConfigFinding[] }
  | {
      state: 'rejected';
      generation: number;
      loadedAt: number;
      files: readonly string[];
      rejectedAt: number;
      issues: readonly ConfigIssue[];
      totalIssues: number;
      /** Of the config still served. */
      findings?: readonly ConfigFinding[];
    };
