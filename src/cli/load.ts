import { formatIssues } from '../config/diagnostics.js';
import { loadMesh } from '../control-plane/load-mesh.js';
import type { MeshModel } from '../model/mesh-model.js';

/** Loads config or prints every problem and exits with status 1. */
export function loadModelOrExit(paths: string[], defaultNamespace?: string): MeshModel {
  const { result, model } = loadMesh(paths, { defaultNamespace });
  if (!result.ok) {
    for (const line of formatIssues(result.issues, result.totalIssues)) process.stderr.write(`${line}\n`);
    process.stderr.write(`${result.totalIssues} error(s) in ${paths.join(', ')}\n`);
    process.exit(1);
  }
  return model!;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
