// The golden matrix: every scenario under examples/ times every proxy it has,
// at two stages: the view (`<proxy>.view.json`, what the model resolved) and
// the Envoy config (`<proxy>.json`, config_dump shape).
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { formatIssue } from '../../src/config/diagnostics.js';
import { loadConfig } from '../../src/config/load-config.js';
import { buildMeshModel, type MeshModel } from '../../src/model/mesh-model.js';
import { viewToJson } from '../../src/model/view-json.js';
import { dumpProxyConfig, formatJson } from '../../src/translate/proxy-config-dump.js';
import { meshProxies, type TranslationResult, Translator } from '../../src/translate/translator.js';
import { EXAMPLES_DIR, GOLDEN_DIR, REPO_ROOT } from './paths.js';

export type GoldenStage = 'view' | 'envoy';

export interface GoldenCase {
  scenario: string;
  proxy: string;
  stage: GoldenStage;
  goldenPath: string;
  /** The translation as it is now, formatted exactly as the golden file. */
  actual: string;
}

/** Scenario folders: real directories (symlinks such as `demo` are aliases, not scenarios). */
export function scenarioNames(): string[] {
  return readdirSync(EXAMPLES_DIR)
    .filter((name) => !name.startsWith('.') && !name.startsWith('_'))
    .filter((name) => {
      const stat = lstatSync(join(EXAMPLES_DIR, name));
      return stat.isDirectory() && !stat.isSymbolicLink();
    })
    .sort();
}

/** The mesh model of every scenario. */
export function scenarioModels(): { scenario: string; model: MeshModel }[] {
  return scenarioNames().map((scenario) => {
    const loaded = loadConfig([join(EXAMPLES_DIR, scenario)], { cwd: REPO_ROOT });
    if (!loaded.ok) throw new Error(`examples/${scenario} does not load:\n${loaded.issues.map(formatIssue).join('\n')}`);
    return { scenario, model: buildMeshModel(loaded.config) };
  });
}

export type GoldenTranslation = { scenario: string } & Extract<TranslationResult, { ok: true }>;

/** The translation of every golden proxy (every proxy of every scenario), one Translator per scenario. */
export function goldenTranslations(): GoldenTranslation[] {
  const out: GoldenTranslation[] = [];
  for (const { scenario, model } of scenarioModels()) {
    const translator = new Translator(model);
    for (const { workload } of meshProxies(model)) {
      const translated = translator.translate(workload.id);
      if (!translated.ok) throw new Error(`${scenario}/${workload.id}: ${translated.error}`);
      out.push({ scenario, ...translated });
    }
  }
  return out;
}

export function goldenCases(): GoldenCase[] {
  const cases: GoldenCase[] = [];
  for (const { scenario, model } of scenarioModels()) {
    for (const { workload: proxy } of meshProxies(model)) {
      const result = dumpProxyConfig(model, proxy.id);
      if (!result.ok) throw new Error(`${scenario}/${proxy.id}: ${result.error}`);
      const dir = join(GOLDEN_DIR, scenario);
      cases.push(
        {
          scenario,
          proxy: proxy.id,
          stage: 'view',
          goldenPath: join(dir, `${proxy.id}.view.json`),
          actual: formatJson(viewToJson(result.view)),
        },
        { scenario, proxy: proxy.id, stage: 'envoy', goldenPath: join(dir, `${proxy.id}.json`), actual: formatJson(result.dump) },
      );
    }
  }
  return cases;
}

/** Every golden JSON file on disk, as absolute paths. */
export function goldenFiles(): string[] {
  if (!existsSync(GOLDEN_DIR)) return [];
  const files: string[] = [];
  for (const dir of readdirSync(GOLDEN_DIR).sort()) {
    const path = join(GOLDEN_DIR, dir);
    if (!lstatSync(path).isDirectory()) {
      files.push(path);
      continue;
    }
    for (const file of readdirSync(path).sort()) files.push(join(path, file));
  }
  return files;
}

/** The Envoy-stage goldens (`<proxy>.json`), without the views. */
export function envoyGoldenFiles(): string[] {
  return goldenFiles().filter((f) => !f.endsWith('.view.json'));
}
