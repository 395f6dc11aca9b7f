// Loading as every command and the live watcher do it: the config layer's
// per-document validation, then the checks that need the resolved mesh (which
// sockets each proxy binds). Both kinds of problem come back as ConfigIssues
// of one LoadResult, so a mesh-level error rejects a config like any other.
import { sortIssues } from '../config/diagnostics.js';
import { loadConfig, type LoadResult } from '../config/load-config.js';
import { addressConflicts } from '../model/address-conflicts.js';
import { buildMeshModel } from '../model/mesh-model.js';

export type { LoadResult };

export function loadMeshConfig(paths: readonly string[], cwd?: string): LoadResult {
  return withMeshChecks(loadConfig(paths, cwd));
}

/** A loaded config with the mesh-level checks applied: still ok, or rejected with their issues. */
export function withMeshChecks(result: LoadResult): LoadResult {
  if (!result.ok) return result;
  const issues = addressConflicts(buildMeshModel(result.config));
  return issues.length === 0 ? result : { ok: false, issues: sortIssues(issues), files: result.files };
}
