// Marathon API answers saved as JSON files (what `meshlite import marathon`
// reads): an app list, one app, a pod status list or one pod status per file;
// a directory stands for its *.json files in name order.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { appendAll } from '../../util/append-all.js';
import { type MarathonApp, type MarathonPod, readApps, readPods } from './marathon-documents.js';

/** True for a document holding pod statuses rather than apps. */
export function isPodDocument(doc: unknown): boolean {
  if (Array.isArray(doc)) return true;
  if (typeof doc !== 'object' || doc === null) return false;
  const o = doc as Record<string, unknown>;
  return Array.isArray(o.pods) || (typeof o.spec === 'object' && o.spec !== null && !('apps' in o) && !('app' in o));
}

/** Throws with the file's name when a file is unreadable, not JSON, or not Marathon's shape. */
export function readMarathonFiles(paths: readonly string[]): { apps: MarathonApp[]; pods: MarathonPod[] } {
  const apps: MarathonApp[] = [];
  const pods: MarathonPod[] = [];
  for (const file of paths.flatMap(expand)) {
    try {
      const doc: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (isPodDocument(doc)) appendAll(pods, readPods(doc));
      else appendAll(apps, readApps(doc));
    } catch (err) {
      throw new Error(`${file}: ${(err as Error).message}`);
    }
  }
  return { apps, pods };
}

function expand(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(path, f));
}
