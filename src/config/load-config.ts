// Loads a config directory into a validated ConfigSet, or every problem found.
// Either the whole set is good or nothing is returned: never half a config.
import { appendAll } from '../util/append-all.js';
import type { ConfigFinding } from './config-status.js';
import { type ConfigIssue, joinPath, type PathSegment, sortIssues } from './diagnostics.js';
import { findHandler, type KindHandler, type LoadedResource, UNSUPPORTED_KINDS } from './kinds/index.js';
import { checkNamespaceDefaults } from './kinds/sidecar.js';
import type { Sidecar } from './sidecar-types.js';
import { anything, labels, obj, str, validateSchema } from './schema.js';
import type { AuthorizationPolicy } from './authz-types.js';
import { type ConfigSet, DEFAULT_MESH_CONFIG, type Meta, type MeshConfigSpec, type Resource, type VirtualService } from './types.js';
import { DEFAULT_LOAD_LIMITS, type LoadLimits, withDefaults } from './limits.js';
import { type FileSummary, readYamlFiles, type YamlDocument } from './yaml-files.js';
import type { YamlParseCache } from './yaml-parse-cache.js';
import { byAge } from './resource.js';
import { checkPolicyTargets, type TargetedPolicy } from './policy-targets.js';

export type LoadResult =
  | {
      ok: true;
      config: ConfigSet;
      files: readonly string[];
      summaries: readonly FileSummary[];
      /** What `meshlite analyze` finds in it, when the loader ran the analysis (the config-loading worker does). */
      findings?: readonly ConfigFinding[];
      /** Per kind, a digest of the documents of that kind (YamlParseCache.kindDigests), when the loader keeps parses. */
      kindDigests?: Readonly<Record<string, string>>;
    }
  | {
      ok: false;
      /** The first `maxReportedErrors` problems, sorted by file and line. */
      issues: readonly ConfigIssue[];
      /** How many problems there are in all (more than `issues` holds when capped). */
      totalIssues: number;
      files: readonly string[];
      summaries: readonly FileSummary[];
    };

export interface LoadOptions {
  /** File names in errors are relative to it (default: the working directory). */
  cwd?: string;
  limits?: Partial<LoadLimits>;
  /**
   * The namespace of a namespaced resource in a file that names none, unless a
   * `.meshlite-namespace` file above it says otherwise (default: `default`).
   * Config held as texts (a store's values) always names its namespace.
   */
  defaultNamespace?: string;
  /** Handed the parsed YAML documents (which know where each field is) before they are validated. */
  onDocuments?: (documents: readonly YamlDocument[]) => void;
  /** Parsed texts kept between loads by their owner (a loader): unchanged files are not parsed again. */
  parseCache?: YamlParseCache;
}

/** The namespace a file's resources are in when neither they nor their directory name one (as kubectl's). */
export const DEFAULT_NAMESPACE = 'default';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

const ENVELOPE = obj(
  {
    apiVersion: str({ pattern: /^[a-z0-9.-]+\/v[0-9a-z]+$/, hint: 'expected group/version, e.g. security.istio.io/v1' }),
    kind: str({ nonEmpty: true }),
    metadata: obj(
      {
        name: str({ pattern: DNS_SUBDOMAIN, hint: 'expected a lower-case DNS name' }),
        namespace: str({ pattern: DNS_LABEL, hint: 'expected a lower-case DNS label' }),
        labels: labels(),
        annotations: labels(),
        creationTimestamp: str({ pattern: RFC3339, hint: 'expected an RFC 3339 timestamp such as 2024-01-31T12:00:00Z' }),
        uid: anything(),
        resourceVersion: anything(),
        generation: anything(),
      },
      { required: ['name'] },
    ),
    spec: anything(),
    status: anything(),
  },
  { required: ['apiVersion', 'kind', 'metadata'] },
);

/** Never throws: whatever the files hold (or fail to hold) becomes issues. */
export function loadConfig(paths: readonly string[], options: LoadOptions = {}): LoadResult {
  const limits = withDefaults(options.limits);
  const cache = options.parseCache;
  const read = readYamlFiles(paths, options.cwd ?? process.cwd(), limits, options.defaultNamespace ?? DEFAULT_NAMESPACE, cache?.parse);
  cache?.endLoad();
  options.onDocuments?.(read.documents);
  return buildConfigSet(read.documents, read.issues, read.files, { limits, summaries: read.summaries });
}

export function buildConfigSet(
  documents: readonly YamlDocument[],
  yamlIssues: readonly ConfigIssue[],
  files: readonly string[] = [],
  options: { limits?: LoadLimits; summaries?: readonly FileSummary[] } = {},
): LoadResult {
  const summaries = options.summaries ?? [];
  const issues: ConfigIssue[] = [...yamlIssues];
  const report = (doc: YamlDocument, path: readonly PathSegment[], message: string, atKey = false) => {
    const pos = doc.locate(path, atKey);
    issues.push({ file: doc.file, line: pos.line, column: pos.column, path: joinPath(path), message });
  };

  const accepted: { doc: YamlDocument; handler: KindHandler; raw: Record<string, unknown> }[] = [];
  for (const doc of documents) {
    const problems = validateSchema(ENVELOPE, doc.value);
    for (const p of problems) report(doc, p.path, p.message, p.atKey);
    if (problems.length > 0) continue;
    const raw = doc.value as Record<string, unknown>;
    const [group] = (raw.apiVersion as string).split('/') as [string, string];
    const version = (raw.apiVersion as string).split('/')[1]!;
    const kind = raw.kind as string;
    const handler = findHandler(group, kind);
    if (!handler) {
      const known = UNSUPPORTED_KINDS.get(kind);
      if (known === group)
        report(doc, ['kind'], `${kind} (${group}) is not supported by meshlite yet; refusing it rather than ignoring it`);
      else report(doc, ['kind'], `unknown kind "${kind}" in apiVersion "${raw.apiVersion}"`);
      continue;
    }
    if (!handler.versions.includes(version)) {
      report(doc, ['apiVersion'], `${kind} is read as ${handler.versions.map((v) => `${group}/${v}`).join(' or ')}, not ${raw.apiVersion}`);
      continue;
    }
    accepted.push({ doc, handler, raw });
  }

  const { spec: mesh, usable: meshUsable } = resolveMeshConfig(accepted, report);
  const resources: LoadedResource[] = [];
  const seen = new Map<string, YamlDocument>();
  const hostOwners = new Map<string, { entry: string; file: string; line: number }>();
  const routed: { vs: VirtualService; doc: YamlDocument }[] = [];
  const custom: { ap: AuthorizationPolicy; doc: YamlDocument }[] = [];
  const sidecars: { sc: Sidecar; report: (path: PathSegment[], message: string) => void }[] = [];
  const targeted: TargetedPolicy<YamlDocument>[] = [];
  for (const { doc, handler, raw } of accepted) {
    const metadata = raw.metadata as Record<string, unknown>;
    const name = metadata.name as string;
    let namespace = (metadata.namespace as string | undefined) ?? (handler.clusterScoped ? undefined : doc.defaultNamespace);
    if (handler.clusterScoped) {
      if (namespace !== undefined) report(doc, ['metadata', 'namespace'], `${handler.kind} is cluster-scoped and takes no namespace`);
      namespace = mesh.rootNamespace;
    } else if (namespace === undefined) {
      report(doc, ['metadata', 'namespace'], 'required field is missing');
      continue;
    }
    const key = `${handler.group}/${handler.kind}/${namespace}/${name}`;
    const first = seen.get(key);
    if (first) {
      report(
        doc,
        ['metadata', 'name'],
        `duplicate ${handler.kind} "${namespace}/${name}" (first defined in ${first.file}:${first.locate([]).line})`,
      );
      continue;
    }
    seen.set(key, doc);
    // Validated and built once, by resolveMeshConfig: every other kind needs its root namespace.
    if (handler.kind === 'MeshConfig') continue;
    const spec = raw.spec ?? {};
    const problems = validateSchema(handler.specSchema, spec, ['spec']);
    for (const p of problems) report(doc, p.path, p.message, p.atKey);
    if (problems.length > 0) continue;
    const meta: Meta = {
      name,
      namespace,
      labels: { ...((metadata.labels as Record<string, string> | undefined) ?? {}) },
      annotations: { ...((metadata.annotations as Record<string, string> | undefined) ?? {}) },
      creationTimestamp: metadata.creationTimestamp as string | undefined,
    };
    const before = issues.length;
    const built = handler.build(spec as Record<string, unknown>, {
      meta,
      source: { file: doc.file, line: doc.locate([]).line },
      rootNamespace: mesh.rootNamespace,
      report: (path, message) => report(doc, path, message),
    });
    if (issues.length === before && built) {
      const list = Array.isArray(built) ? built : [built];
      for (const r of list) if (r.kind === 'ServiceEntry') claimHosts(r, doc, hostOwners, report);
      for (const r of list) if (r.kind === 'VirtualService') routed.push({ vs: r, doc });
      for (const r of list) if (r.kind === 'AuthorizationPolicy' && r.spec.action === 'CUSTOM') custom.push({ ap: r, doc });
      for (const r of list) if (r.kind === 'Sidecar') sidecars.push({ sc: r, report: (path, message) => report(doc, path, message) });
      for (const r of list) {
        const field = (spec as Record<string, unknown>).targetRef ? 'targetRef' : 'targetRefs';
        if (r.kind === 'AuthorizationPolicy' && r.spec.targetRefs) targeted.push({ ap: r, doc, field });
      }
      appendAll(resources, list);
    }
  }
  checkVirtualServiceBindings(routed, seen, mesh.domainSuffix, report);
  checkNamespaceDefaults(sidecars.sort((a, b) => byAge(a.sc, b.sc)));
  if (meshUsable) checkCustomProviders(custom, mesh, report);
  checkPolicyTargets(
    targeted,
    resources.filter((r) => r.kind === 'ServiceEntry'),
    report,
  );

  if (issues.length > 0) return rejectedLoad(issues, files, summaries, options.limits?.maxReportedErrors);
  return { ok: true, config: assemble(mesh, resources), files, summaries };
}

/** A rejected load: every problem counted, the first `maxReported` (by file and line) listed. */
export function rejectedLoad(
  issues: readonly ConfigIssue[],
  files: readonly string[],
  summaries: readonly FileSummary[],
  maxReported = DEFAULT_LOAD_LIMITS.maxReportedErrors,
): LoadResult {
  return { ok: false, issues: sortIssues([...issues]).slice(0, maxReported), totalIssues: issues.length, files, summaries };
}

/**
 * The MeshConfig, validated and built (its errors reported) before any other
 * kind, which needs its root namespace. `usable`: there is none (defaults
 * apply) or the first one is free of errors (checks that read its provider
 * list are skipped otherwise: its own errors say why).
 */
function resolveMeshConfig(
  accepted: { doc: YamlDocument; handler: KindHandler; raw: Record<string, unknown> }[],
  report: (doc: YamlDocument, path: PathSegment[], message: string, atKey?: boolean) => void,
): { spec: MeshConfigSpec; usable: boolean } {
  const meshDocs = accepted.filter((a) => a.handler.kind === 'MeshConfig');
  meshDocs.slice(1).forEach(({ doc }) => report(doc, ['kind'], `only one MeshConfig is allowed (first in ${meshDocs[0]!.doc.file})`));
  const first = meshDocs[0];
  if (!first) return { spec: DEFAULT_MESH_CONFIG, usable: true };
  const { doc, handler, raw } = first;
  const spec = (raw.spec ?? {}) as Record<string, unknown>;
  const problems = validateSchema(handler.specSchema, spec, ['spec']);
  for (const p of problems) report(doc, p.path, p.message, p.atKey);
  if (problems.length > 0) return { spec: DEFAULT_MESH_CONFIG, usable: false };
  let errors = 0;
  const rootNamespace = typeof spec.rootNamespace === 'string' ? spec.rootNamespace : DEFAULT_MESH_CONFIG.rootNamespace;
  const built = handler.build(spec, {
    meta: { name: String((raw.metadata as Record<string, unknown>).name), namespace: rootNamespace, labels: {}, annotations: {} },
    source: { file: doc.file, line: doc.locate([]).line },
    rootNamespace,
    report: (path, message) => {
      errors += 1;
      report(doc, path, message);
    },
  });
  if (!built) return { spec: DEFAULT_MESH_CONFIG, usable: false };
  return { spec: (built as Resource<'MeshConfig', MeshConfigSpec>).spec, usable: errors === 0 };
}

/** One host, one ServiceEntry: a second definition would make routing ambiguous. */
function claimHosts(
  entry: Extract<LoadedResource, { kind: 'ServiceEntry' }>,
  doc: YamlDocument,
  owners: Map<string, { entry: string; file: string; line: number }>,
  report: (doc: YamlDocument, path: PathSegment[], message: string) => void,
): void {
  const name = `${entry.meta.namespace}/${entry.meta.name}`;
  entry.spec.hosts.forEach((host, i) => {
    const path = ['spec', 'hosts', i];
    const prior = owners.get(host);
    if (!prior) {
      owners.set(host, { entry: name, file: doc.file, line: doc.locate(path).line });
    } else if (prior.entry === name) {
      report(doc, path, `host "${host}" is listed twice`);
    } else {
      report(doc, path, `host "${host}" is already defined by ServiceEntry ${prior.entry} (${prior.file}:${prior.line})`);
    }
  });
}

/**
 * Across VirtualServices: every gateway they bind to must be defined (a typo
 * would silently drop the routes), and one host on one gateway (or the mesh)
 * is routed by one VirtualService: the later one (by age) is reported.
 */
function checkVirtualServiceBindings(
  routed: { vs: VirtualService; doc: YamlDocument }[],
  seen: ReadonlyMap<string, YamlDocument>,
  domainSuffix: string,
  report: (doc: YamlDocument, path: PathSegment[], message: string) => void,
): void {
  const owners = new Map<string, { vs: VirtualService; file: string; line: number }>();
  for (const { vs, doc } of [...routed].sort((a, b) => byAge(a.vs, b.vs))) {
    const name = `${vs.meta.namespace}/${vs.meta.name}`;
    vs.spec.gateways.forEach((gw, i) => {
      if (gw !== 'mesh' && !seen.has(`networking.istio.io/Gateway/${gw}`)) {
        report(doc, ['spec', 'gateways', i], `no Gateway "${gw}" is defined; routes bound to it would never be used`);
      }
    });
    vs.spec.hosts.forEach((host, i) => {
      const fqdn = host.includes('.') || host.includes('*') ? host : `${host}.${vs.meta.namespace}.svc.${domainSuffix}`;
      const shown = fqdn === host ? `"${host}"` : `"${host}" (${fqdn})`;
      for (const gw of vs.spec.gateways) {
        const key = `${gw} ${fqdn}`;
        const prior = owners.get(key);
        if (!prior) {
          owners.set(key, { vs, file: doc.file, line: doc.locate(['spec', 'hosts', i]).line });
        } else if (prior.vs !== vs) {
          const where = gw === 'mesh' ? 'the mesh' : `gateway ${gw}`;
          const first = `${prior.vs.meta.namespace}/${prior.vs.meta.name}`;
          report(
            doc,
            ['spec', 'hosts', i],
            `host ${shown} on ${where} is already routed by VirtualService ${first} (${prior.file}:${prior.line}); VirtualService ${name} conflicts with it`,
          );
        }
      }
    });
  }
}

/**
 * Every AuthorizationPolicy with action CUSTOM names an extension provider of
 * the MeshConfig (skipped above when the MeshConfig itself is invalid: its own
 * errors say why).
 */
function checkCustomProviders(
  custom: { ap: AuthorizationPolicy; doc: YamlDocument }[],
  mesh: MeshConfigSpec,
  report: (doc: YamlDocument, path: PathSegment[], message: string) => void,
): void {
  const declared = mesh.extensionProviders.map((p) => p.name);
  for (const { ap, doc } of custom) {
    if (ap.spec.provider === undefined || declared.includes(ap.spec.provider)) continue;
    const known = declared.length > 0 ? `declared: ${declared.map((n) => `"${n}"`).join(', ')}` : 'it declares none';
    report(
      doc,
      ['spec', 'provider', 'name'],
      `extension provider "${ap.spec.provider}" is not declared in the MeshConfig's extensionProviders (${known})`,
    );
  }
}

function assemble(mesh: MeshConfigSpec, resources: LoadedResource[]): ConfigSet {
  const of = <K extends LoadedResource['kind']>(kind: K) =>
    resources.filter((r): r is Extract<LoadedResource, { kind: K }> => r.kind === kind).sort(byAge);
  return {
    mesh,
    peerAuthentications: of('PeerAuthentication'),
    destinationRules: of('DestinationRule'),
    serviceEntries: of('ServiceEntry'),
    workloadEntries: of('WorkloadEntry'),
    workloadGroups: of('WorkloadGroup'),
    gateways: of('Gateway'),
    virtualServices: of('VirtualService'),
    authorizationPolicies: of('AuthorizationPolicy'),
    requestAuthentications: of('RequestAuthentication'),
    sidecars: of('Sidecar'),
  };
}
