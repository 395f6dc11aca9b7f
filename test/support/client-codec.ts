// The client side of the ADS wire encoding (requests out, responses in), for
// tests and the push benchmark's simulated proxies; meshlite itself only
// decodes requests and encodes responses.
import { discoveryMessageTypes } from '../../src/server/discovery-codec.js';

type Decoded = Record<string, any>;

const messages = discoveryMessageTypes;

export const clientCodec = {
  encodeSotwRequest(req: {
    versionInfo?: string;
    node?: { id: string; cluster?: string; metadata?: Record<string, string> };
    resourceNames?: string[];
    typeUrl: string;
    responseNonce?: string;
    errorDetail?: { code: number; message: string };
  }): Uint8Array {
    return messages()
      .request!.encode({
        version_info: req.versionInfo ?? '',
        node: req.node && {
          id: req.node.id,
          cluster: req.node.cluster,
          metadata: req.node.metadata && {
            fields: Object.fromEntries(Object.entries(req.node.metadata).map(([k, v]) => [k, { stringValue: v }])),
          },
        },
        resource_names: req.resourceNames ?? [],
        type_url: req.typeUrl,
        response_nonce: req.responseNonce ?? '',
        error_detail: req.errorDetail,
      })
      .finish();
  },
  decodeSotwResponse(bytes: Uint8Array): {
    versionInfo: string;
    typeUrl: string;
    nonce: string;
    resources: { typeUrl: string; value: Uint8Array }[];
  } {
    const raw = messages().response!.decode(bytes) as unknown as Decoded;
    return {
      versionInfo: raw.version_info ?? '',
      typeUrl: raw.type_url ?? '',
      nonce: raw.nonce ?? '',
      resources: (raw.resources ?? []).map((r: Decoded) => ({ typeUrl: r.type_url, value: r.value })),
    };
  },
  encodeDeltaRequest(req: {
    node?: { id: string };
    typeUrl: string;
    subscribe?: string[];
    unsubscribe?: string[];
    initialResourceVersions?: Record<string, string>;
    responseNonce?: string;
    errorDetail?: { code: number; message: string };
  }): Uint8Array {
    return messages()
      .deltaRequest!.encode({
        node: req.node,
        type_url: req.typeUrl,
        resource_names_subscribe: req.subscribe ?? [],
        resource_names_unsubscribe: req.unsubscribe ?? [],
        initial_resource_versions: req.initialResourceVersions ?? {},
        response_nonce: req.responseNonce ?? '',
        error_detail: req.errorDetail,
      })
      .finish();
  },
  decodeDeltaResponse(bytes: Uint8Array): {
    systemVersion: string;
    typeUrl: string;
    nonce: string;
    resources: { name: string; version: string; value: Uint8Array }[];
    removed: string[];
  } {
    const raw = messages().deltaResponse!.decode(bytes) as unknown as Decoded;
    return {
      systemVersion: raw.system_version_info ?? '',
      typeUrl: raw.type_url ?? '',
      nonce: raw.nonce ?? '',
      resources: (raw.resources ?? []).map((r: Decoded) => ({ name: r.name, version: r.version, value: r.resource?.value })),
      removed: raw.removed_resources ?? [],
    };
  },
};
