// Loading as every command and the live watcher do it: the config layer's
// per-document validation, then the checks that need the resolved mesh (which
// sockets each proxy binds). Both kinds of problem come back as ConfigIssues
// of one LoadResult, so a mesh-level error rejects a config like any other.
import { sortIssues } from '../config/diagnostics.js';
import { DEFAULT_LOAD_LIMITS } from '../config/limits.js';
import { loadConfig, type LoadOptions, type LoadResult } from '../config/load-config.js';
import { addressConflicts } from '../model/address-conflicts.js';
import { buildMeshModel } from '../model/mesh-model.js';

export type { LoadResult };

export function loadMeshConfig(paths: readonly string[], options: LoadOptions = {}): LoadResult {
  return withMeshChecks(loadConfig(paths, options), options.limits?.maxReportedErrors);
}

/** A loaded config with the mesh-level checks applied: still ok, or rejected with their issues. */
export function withMeshChecks(result: LoadResult, maxReportedErrors = DEFAULT_LOAD_LIMITS.maxReportedErrors): LoadResult {
  if (!result.ok) return result;
  const issues = addressConflicts(buildMeshModel(result.config));
  if (issues.length === 0) return result;
  return { ok: false, issues: sortIssues(issues).slice(0, maxReportedErrors), totalIssues: issues.length, files: result.files, summaries: result.summaries };
}
