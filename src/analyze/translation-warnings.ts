// The parts of the authorization policies the translation cannot express and
// leaves out failing closed (a dropped ALLOW rule allows less, an ignored
// DENY field denies more). `meshlite serve` logs them per proxy; offline,
// `meshlite validate` prints each once with the place of the policy.
import type { ConfigSet } from '../config/types.js';
import { buildMeshModel, type MeshModel } from '../model/mesh-model.js';
import { authorizationReport } from '../translate/authorization-report.js';
import { meshProxies } from '../translate/translator.js';
import type { FieldLocator } from './finding.js';

export interface TranslationWarning {
  /** Of the policy the warning names, when it names one. */
  file?: string;
  line?: number;
  column?: number;
  message: string;
  /** The proxies the warning holds for, sorted. */
  proxies: string[];
}

const NAMED = /\b(AuthorizationPolicy|RequestAuthentication) ([a-z0-9-]+)\/([a-z0-9.-]+)(?: rule (\d+))?/;
/** Offline nothing is fetched: a jwksUri is never "available", and saying so would only be noise. */
const FETCH_ONLY = /JWKS from .* is not available/;

export function translationWarnings(config: ConfigSet, options: { model?: MeshModel; locate?: FieldLocator } = {}): TranslationWarning[] {
  const model = options.model ?? buildMeshModel(config);
  const byMessage = new Map<string, string[]>();
  for (const { workload } of meshProxies(model)) {
    const result = authorizationReport(model, workload.id);
    if (!result.ok) continue;
    for (const message of new Set(result.report.warnings)) {
      if (FETCH_ONLY.test(message)) continue;
      byMessage.set(message, [...(byMessage.get(message) ?? []), workload.id]);
    }
  }
  const out = [...byMessage].map(([message, proxies]) => ({ ...place(config, message, options.locate), message, proxies: proxies.sort() }));
  return out.sort(
    (a, b) => (a.file ?? '').localeCompare(b.file ?? '') || (a.line ?? 0) - (b.line ?? 0) || a.message.localeCompare(b.message),
  );
}

function place(config: ConfigSet, message: string, locate: FieldLocator | undefined): Pick<TranslationWarning, 'file' | 'line' | 'column'> {
  const m = NAMED.exec(message);
  if (!m) return {};
  const [, kind, namespace, name, rule] = m;
  const list = kind === 'AuthorizationPolicy' ? config.authorizationPolicies : config.requestAuthentications;
  const resource = list.find((r) => r.meta.namespace === namespace && r.meta.name === name);
  if (!resource) return {};
  const at = locate?.(resource.source, rule === undefined ? [] : ['spec', 'rules', Number(rule)]);
  return { file: resource.source.file, line: at?.line ?? resource.source.line, column: at?.column ?? 1 };
}
