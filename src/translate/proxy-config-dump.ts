// One proxy's full translation as Envoy's ConfigDump, validated and printed in
// canonical form by the real Envoy protos.
import type { MeshModel } from '../model/mesh-model.js';
import type { ProxyView } from '../model/view-types.js';
import { canonicalJson, type Json } from '../proto/proto-json.js';
import { buildConfigDump, type DumpOptions } from '../xds/config-dump.js';
import type { Secret } from '../xds/envoy-types/index.js';
import type { ProxyResources } from '../xds/proxy-resources.js';
import { buildSecret, type SecretMaterial } from '../xds/secret.js';
import { offlineSecretMaterial } from './offline-secret-material.js';
import { translate } from './translator.js';

export const CONFIG_DUMP_TYPE = 'envoy.admin.v3.ConfigDump';

export type DumpResult =
  | { ok: true; dump: Json; view: ProxyView; resources: ProxyResources; secrets: Secret[] }
  | { ok: false; error: string };

export function dumpProxyConfig(model: MeshModel, proxyId: string, material?: SecretMaterial, options?: DumpOptions): DumpResult {
  const translated = translate(model, proxyId);
  if (!translated.ok) return translated;
  const source = material ?? offlineSecretMaterial(translated.view.proxy.identity);
  const secrets = translated.resources.secrets.map((ref) => buildSecret(ref, source)).filter((s): s is Secret => s !== undefined);
  const dump = canonicalJson(CONFIG_DUMP_TYPE, buildConfigDump(translated.resources, secrets, options));
  return { ok: true, dump, view: translated.view, resources: translated.resources, secrets };
}

/** Byte-stable text form used for goldens and CLI output. */
export function formatJson(value: Json): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
