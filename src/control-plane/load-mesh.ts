// Loading as every command and the live watcher do it: the config layer's
// per-document validation, then the checks that need the resolved mesh (which
// sockets each proxy binds). Both kinds of problem come back as ConfigIssues
// of one LoadResult, so a mesh-level error rejects a config like any other.
import { loadConfig, type LoadOptions, type LoadResult, rejectedLoad } from '../config/load-config.js';
import { type ConfigText, loadConfigFilesAndTexts, loadConfigTexts } from '../config/load-texts.js';
import { addressConflicts } from '../model/address-conflicts.js';
import { healthProbeIssues } from '../model/health-probe-checks.js';
import type { ConfigIssue } from '../config/diagnostics.js';
import type { YamlDocument } from '../config/yaml-files.js';
import { buildMeshModel, type MeshModel } from '../model/mesh-model.js';
import type { Registry } from '../model/registry.js';
import { policiesOnlyChanged } from './translation-reuse.js';

export type { LoadResult };

export function loadMeshConfig(paths: readonly string[], options: LoadOptions = {}): LoadResult {
  return loadMesh(paths, options).result;
}

/**
 * The load, and the model the checks were run on when it is valid (so callers
 * need not build it again); with the options' parse cache, a valid load
 * carries its per-kind digests. With a memo as well, a
 * load whose documents differ from the last one's only in policies reuses
 * its registry and the outcome of its mesh-level checks, which read none.
 */
export function loadMesh(
  paths: readonly string[],
  options: LoadOptions = {},
  memo?: MeshCheckMemo,
): { result: LoadResult; model?: MeshModel } {
  let documents: readonly YamlDocument[] = [];
  const loaded = loadConfig(paths, {
    ...options,
    onDocuments: (read) => {
      documents = read;
      options.onDocuments?.(read);
    },
  });
  if (!loaded.ok) return { result: loaded };
  const digests = options.parseCache?.kindDigests(documents);
  const reused = digests && memo?.reusable(digests);
  const model = buildMeshModel(loaded.config, undefined, reused?.registry);
  const issues = reused ? reused.issues : meshIssues(model);
  if (digests) memo?.remember(digests, model.registry, issues);
  if (issues.length > 0) return { result: rejectedLoad(issues, loaded.files, loaded.summaries, options.limits?.maxReportedErrors) };
  return { result: digests ? { ...loaded, kindDigests: digests } : loaded, model };
}

/** The registry and mesh-level issues of the last load, by the digests of the documents they came from. */
export class MeshCheckMemo {
  private last: { digests: Readonly<Record<string, string>>; registry: Registry; issues: readonly ConfigIssue[] } | undefined;

  reusable(digests: Readonly<Record<string, string>>): { registry: Registry; issues: readonly ConfigIssue[] } | undefined {
    const last = this.last;
    return last && policiesOnlyChanged({ kindDigests: last.digests, registered: '' }, { kindDigests: digests, registered: '' })
      ? last
      : undefined;
  }

  remember(digests: Readonly<Record<string, string>>, registry: Registry, issues: readonly ConfigIssue[]): void {
    this.last = { digests, registry, issues };
  }
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
  const issues = meshIssues(model ?? buildMeshModel(result.config));
  return issues.length === 0 ? result : rejectedLoad(issues, result.files, result.summaries, maxReportedErrors);
}

/** What the mesh-level checks find: sockets two proxies would both bind, health probes that cannot work. */
function meshIssues(model: MeshModel): ConfigIssue[] {
  return [...addressConflicts(model), ...healthProbeIssues(model)];
}
