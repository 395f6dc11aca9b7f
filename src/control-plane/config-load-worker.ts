// The body of the config-loading worker thread: reads, parses and validates
// off the main thread, so ADS and the admin server stay responsive while a
// large config is loaded. One request in, one LoadResult out.
import { parentPort } from 'node:worker_threads';
import type { LoadOptions } from '../config/load-config.js';
import type { ConfigText } from '../config/load-texts.js';
import { loadMeshConfig, loadMeshFilesAndTexts, loadMeshTexts } from './load-mesh.js';

export type LoadRequest =
  | { paths: readonly string[]; registry?: readonly ConfigText[]; options: LoadOptions }
  | { texts: readonly ConfigText[]; options: LoadOptions };

parentPort?.once('message', (request: LoadRequest) => {
  parentPort!.postMessage(
    'texts' in request
      ? loadMeshTexts(request.texts, request.options)
      : request.registry && request.registry.length > 0
        ? loadMeshFilesAndTexts(request.paths, request.registry, request.options)
        : loadMeshConfig(request.paths, request.options),
  );
});
