// One proxy's full translation as Envoy's ConfigDump, validated and printed in
// canonical form by the real Envoy protos.
import type { MeshModel } from '../model/mesh-model.js';
import { canonicalJson, type Json } from '../proto/proto-json.js';
import type { JsonObject } from './common.js';
import { buildConfigDump, type DumpOptions } from './config-dump.js';
import { offlineSecretMaterial } from './offline-secret-material.js';
import type { ProxyResources } from './proxy-resources.js';
import { translate } from './translate.js';
import { buildSecret, type SecretMaterial } from './secret.js';

export const CONFIG_DUMP_TYPE = 'envoy.admin.v3.ConfigDump';

export type DumpResult = { ok: true; dump: Json; resources: ProxyResources; secrets: JsonObject[] } | { ok: false; error: string };

export function dumpProxyConfig(model: MeshModel, proxyId: string, material?: SecretMaterial, options?: DumpOptions): DumpResult {
  const translated = translate(model, proxyId);
  if (!translated.ok) return translated;
  const source = material ?? offlineSecretMaterial(translated.proxy);
  const secrets = translated.resources.secretNames.map((name) => buildSecret(name, source)).filter((s): s is JsonObject => s !== undefined);
  const dump = canonicalJson(CONFIG_DUMP_TYPE, buildConfigDump(translated.resources, secrets, options));
  return { ok: true, dump, resources: translated.resources, secrets };
}

/** Byte-stable text form used for goldens and CLI output. */
export function formatJson(value: Json): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
