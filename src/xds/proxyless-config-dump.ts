// A proxyless client's translation in Envoy's ConfigDump shape (what
// `meshlite generate` prints and /debug/config_dump-style diffs compare),
// validated and canonicalised through the real Envoy protos.
import type { MeshModel } from '../model/mesh-model.js';
import { canonicalJson } from '../proto/proto-json.js';
import { buildConfigDump } from './config-dump.js';
import { CONFIG_DUMP_TYPE, type DumpResult } from './proxy-config-dump.js';
import { translateProxyless } from './proxyless-translate.js';

export function dumpProxylessConfig(model: MeshModel, proxyId: string): DumpResult {
  const translated = translateProxyless(model, proxyId);
  if (!translated.ok) return translated;
  const dump = canonicalJson(CONFIG_DUMP_TYPE, buildConfigDump(translated.resources, []));
  return { ok: true, dump, resources: translated.resources, secrets: [] };
}
