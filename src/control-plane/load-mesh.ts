// Loading as every command and the live watcher do it: the config layer's
// per-document validation, then the checks that need the resolved mesh (which
// sockets each proxy binds). Both kinds of problem come back as ConfigIssues
// of one LoadResult, so a mesh-level error rejects a config like any other.
import { loadConfig, type LoadOptions, type LoadResult, rejectedLoad } from '../config/load-config.js';
import { type ConfigText, loadConfigFilesAndTexts, loadConfigTexts } from '../config/load-texts.js';
import { addressConflicts } from '../model/address-conflicts.js';
import { healthProbeIssues } from '../model/health-probe-checks.js';
import { buildMeshModel, type MeshModel } from '../model/mesh-model.js';

export type { LoadResult };

export function loadMeshConfig(paths: readonly string[], options: LoadOptions = {}): LoadResult {
  return loadMesh(paths, options).result;
}

/** The load, and the model the checks were run on when it is valid (so callers need not build it again). */
export function loadMesh(paths: readonly string[], options: LoadOptions = {}): { result: LoadResult; model?: MeshModel } {
  const loaded = loadConfig(paths, options);
  if (!loaded.ok) return { result: loaded };
  const model = buildMeshModel(loaded.config);
  const result = withMeshChecks(loaded, options.limits?.maxReportedErrors, model);
  return result.ok ? { result, model } : { result };
}

/** Config held as named texts (a store's values), checked exactly as files are. */
export function loadMeshTexts(texts: readonly ConfigText[], options: LoadOptions = {}): LoadResult {
  const loaded = loadConfigTexts(texts, options);
  return withMeshChecks(loaded, options.limits?.maxReportedErrors);
}

/** Files and a registry's texts as one config, checked as files are. */
export function loadMeshFilesAndTexts(paths: readonly string[], texts: readonly ConfigText[], options: LoadOptions = {}): LoadResult {
  return withMeshChecks(loadConfigFilesAndTexts(paths, texts, options), options.limits?.maxReportedErrors);
}

/** A loaded config with the mesh-level checks applied: still ok, or rejected with their issues. */
export function withMeshChecks(result: LoadResult, maxReportedErrors?: number, model?: MeshModel): LoadResult {
  if (!result.ok) return result;
  const built = model ?? buildMeshModel(result.config);
  const issues = [...addressConflicts(built), ...healthProbeIssues(built)];
  return issues.length === 0 ? result : rejectedLoad(issues, result.files, result.summaries, maxReportedErrors);
}
