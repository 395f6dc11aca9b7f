// One config load as the control plane runs it (in the loading worker, or
// inline in tests): read, validate, run the mesh-level checks, and for a
// valid config add what `meshlite analyze` finds in it, placed at the fields
// (the parsed YAML, which knows where each field is, is only at hand here).
import { analyzeConfig } from '../analyze/analyze-config.js';
import { documentLocator } from '../analyze/document-locator.js';
import type { LoadOptions, LoadResult } from '../config/load-config.js';
import type { ConfigText } from '../config/load-texts.js';
import type { YamlDocument } from '../config/yaml-files.js';
import type { MeshModel } from '../model/mesh-model.js';
import { loadMesh, loadMeshFilesAndTexts, loadMeshTexts, type MeshCheckMemo } from './load-mesh.js';

export type LoadRequest =
  | { paths: readonly string[]; registry?: readonly ConfigText[]; options: LoadOptions }
  | { texts: readonly ConfigText[]; options: LoadOptions };

/** `memo`: kept by the caller between loads (with the options' parse cache), see loadMesh. */
export function analyzedLoad(request: LoadRequest, memo?: MeshCheckMemo): LoadResult {
  let documents: readonly YamlDocument[] = [];
  const options: LoadOptions = { ...request.options, onDocuments: (read) => (documents = read) };
  let model: MeshModel | undefined;
  let result: LoadResult;
  if ('texts' in request) result = loadMeshTexts(request.texts, options);
  else if (request.registry && request.registry.length > 0) result = loadMeshFilesAndTexts(request.paths, request.registry, options);
  else ({ result, model } = loadMesh(request.paths, options, memo));
  if (!result.ok) return result;
  const kindDigests = result.kindDigests ?? request.options.parseCache?.kindDigests(documents);
  return withFindings(kindDigests ? { ...result, kindDigests } : result, model, documents);
}

/** Never fails the load: without findings, the control plane analyzes the config itself when it applies it. */
function withFindings(result: LoadResult & { ok: true }, model: MeshModel | undefined, documents: readonly YamlDocument[]): LoadResult {
  try {
    return { ...result, findings: analyzeConfig(result.config, { model, locate: documentLocator(documents) }) };
  } catch {
    return result;
  }
}
