// `meshlite diff` against running Envoys, as `istioctl proxy-status` would:
// what every Envoy holds must be exactly what meshlite means, both live
// (meshlite's admin) and offline (translating the config directory, when it is valid).
import { execFile } from 'node:child_process';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../paths.js';
import type { ConfigDir } from './config-dir.js';
import type { Envoy } from './envoy.js';
import { DIFF_MATCH } from './mesh-proxies.js';
import { CLI, type Meshlite } from './meshlite.js';

export interface DiffSubject {
  meshlite: Meshlite;
  cfg: ConfigDir;
  /** The proxies whose Envoys run. */
  proxies: readonly string[];
  envoy(proxy: string): Envoy;
}

interface DiffRun {
  stdout: string;
  stderr: string;
  status: number | null;
}

function runDiff(args: readonly string[]): Promise<DiffRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'diff', ...args], { cwd: REPO_ROOT, encoding: 'utf8' }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ stdout, stderr, status });
    });
  });
}

/** Every proxy: `meshlite diff --meshlite-admin` (and `-c <config dir>` when `offline`) reports all four types matching. */
export async function assertDiffMatches(s: DiffSubject, step: string, offline = true): Promise<void> {
  const runs = s.proxies.flatMap((proxy) => {
    const envoyAdmin = s.envoy(proxy).adminUrl;
    const meanings = [['--meshlite-admin', s.meshlite.adminUrl], ...(offline ? [['-c', s.cfg.dir]] : [])];
    return meanings.map(async (meaning) => ({
      proxy,
      meaning,
      r: await runDiff(['--proxy', proxy, '--envoy-admin', envoyAdmin, ...meaning]),
    }));
  });
  for (const { proxy, meaning, r } of await Promise.all(runs)) {
    assert.is(r.stdout, DIFF_MATCH, `${step}: meshlite diff ${meaning[0]} for ${proxy} (exit ${r.status}):\n${r.stdout}${r.stderr}`);
    assert.is(r.status, 0, `${step}: meshlite diff ${meaning[0]} for ${proxy} exit status`);
  }
}
