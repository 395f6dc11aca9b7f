// The contract each supported config kind implements; index.ts lists them.
import type { AuthorizationPolicy, RequestAuthentication } from '../authz-types.js';
import type { PathSegment } from '../diagnostics.js';
import type { Schema } from '../schema.js';
import type { Sidecar } from '../sidecar-types.js';
import type {
  DestinationRule,
  Gateway,
  MeshConfig,
  Meta,
  PeerAuthentication,
  ServiceEntry,
  Source,
  VirtualService,
  WorkloadEntry,
  WorkloadGroup,
} from '../types.js';

export type LoadedResource =
  | PeerAuthentication
  | DestinationRule
  | ServiceEntry
  | WorkloadEntry
  | WorkloadGroup
  | MeshConfig
  | Gateway
  | VirtualService
  | AuthorizationPolicy
  | RequestAuthentication
  | Sidecar;

export interface BuildContext {
  meta: Meta;
  source: Source;
  rootNamespace: string;
  /** Reports a semantic problem at a path relative to the document root. */
  report(path: PathSegment[], message: string): void;
}

export interface KindHandler {
  group: string;
  versions: readonly string[];
  kind: string;
  /** Cluster-scoped kinds take no namespace. */
  clusterScoped?: boolean;
  specSchema: Schema;
  /** Semantic checks and conversion; called only when the spec passed the schema. */
  build(spec: Record<string, unknown>, ctx: BuildContext): LoadedResource | LoadedResource[] | undefined;
}
