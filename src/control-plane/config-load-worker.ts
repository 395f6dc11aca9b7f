// The body of the config-loading worker thread: reads, parses, validates and
// analyzes off the main thread, so ADS and the admin server stay responsive
// while a large config is loaded. Requests come one at a time, each answered
// with its LoadResult; the parsed YAML of the current files, and the mesh
// checks of the last load, are kept between them (for as long as the loader
// keeps this worker).
import { parentPort } from 'node:worker_threads';
import type { LoadResult } from '../config/load-config.js';
import { YamlParseCache } from '../config/yaml-parse-cache.js';
import { analyzedLoad, type LoadRequest } from './analyzed-load.js';
import { MeshCheckMemo } from './load-mesh.js';

export type { LoadRequest };

export interface LoadReply {
  id: number;
  result: LoadResult;
}

function serve(port: NonNullable<typeof parentPort>): void {
  const parseCache = new YamlParseCache();
  const meshChecks = new MeshCheckMemo();
  port.on('message', ({ id, request }: { id: number; request: LoadRequest }) => {
    const reply: LoadReply = { id, result: analyzedLoad({ ...request, options: { ...request.options, parseCache } }, meshChecks) };
    port.postMessage(reply);
  });
}

if (parentPort) serve(parentPort);
