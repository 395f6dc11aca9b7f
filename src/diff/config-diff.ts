// Compares two Envoy config dumps the way `istioctl proxy-status <pod>` does:
// active dynamic clusters, listeners and routes, sorted by name, with versions
// and timestamps ignored; secrets by name only (their material differs by design).
import { createTwoFilesPatch } from 'diff';

type Obj = Record<string, unknown>;

export const DIFF_SECTIONS = ['Clusters', 'Listeners', 'Routes', 'Secrets'] as const;
export type DiffSection = (typeof DIFF_SECTIONS)[number];

export interface SectionDiff {
  section: DiffSection;
  match: boolean;
  /** Unified diff, meshlite side first; empty when they match. */
  patch: string;
}

function configOf(dump: Obj, suffix: string): Obj {
  const configs = (dump.configs ?? []) as Obj[];
  return configs.find((c) => String(c['@type'] ?? '').endsWith(`.${suffix}`)) ?? {};
}

function byName(items: Obj[]): Obj[] {
  return [...items].sort((a, b) => String(a.name).localeCompare(String(b.name)));
}

/** The comparable content of each section of a dump (Envoy's or meshlite's). */
export function comparableSections(dump: Obj): Record<DiffSection, unknown[]> {
  const clusters = ((configOf(dump, 'ClustersConfigDump').dynamic_active_clusters ?? []) as Obj[]).map((c) => c.cluster as Obj);
  const listeners = ((configOf(dump, 'ListenersConfigDump').dynamic_listeners ?? []) as Obj[])
    .map((l) => (l.active_state as Obj | undefined)?.listener as Obj | undefined)
    .filter((l): l is Obj => l !== undefined);
  const routes = ((configOf(dump, 'RoutesConfigDump').dynamic_route_configs ?? []) as Obj[]).map((r) => r.route_config as Obj);
  const secrets = ((configOf(dump, 'SecretsConfigDump').dynamic_active_secrets ?? []) as Obj[]).map((s) => String(s.name)).sort();
  return { Clusters: byName(clusters), Listeners: byName(listeners), Routes: byName(routes), Secrets: secrets };
}

/** JSON with object keys sorted, so field order never counts as a difference. */
export function stableJson(value: unknown): string {
  const sortKeys = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.keys(v as Obj)
          .sort()
          .map((k) => [k, sortKeys((v as Obj)[k])]),
      );
    return v;
  };
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

export function diffConfigDumps(meant: Obj, held: Obj, labels = { meant: 'meshlite', held: 'envoy' }): SectionDiff[] {
  const a = comparableSections(meant);
  const b = comparableSections(held);
  return DIFF_SECTIONS.map((section) => {
    const left = stableJson(a[section]);
    const right = stableJson(b[section]);
    if (left === right) return { section, match: true, patch: '' };
    return {
      section,
      match: false,
      patch: createTwoFilesPatch(
        `${labels.meant} ${section.toLowerCase()}`,
        `${labels.held} ${section.toLowerCase()}`,
        left,
        right,
        '',
        '',
        { context: 3 },
      ),
    };
  });
}

export function formatDiff(diffs: readonly SectionDiff[]): string {
  return diffs.map((d) => (d.match ? `${d.section} Match\n` : `${d.section} Don't Match\n${d.patch}`)).join('');
}
