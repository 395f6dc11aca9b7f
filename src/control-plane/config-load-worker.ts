// The body of the config-loading worker thread: reads, parses and validates
// off the main thread, so ADS and the admin server stay responsive while a
// large config is loaded. One request in, one LoadResult out.
import { parentPort } from 'node:worker_threads';
import type { LoadOptions } from '../config/load-config.js';
import type { ConfigText } from '../config/load-texts.js';
import { loadMeshConfig, loadMeshTexts } from './load-mesh.js';

export type LoadRequest = { paths: readonly string[]; options: LoadOptions } | { texts: readonly ConfigText[]; options: LoadOptions };

parentPort?.once('message', (request: LoadRequest) => {
  parentPort!.postMessage(
    'texts' in request ? loadMeshTexts(request.texts, request.options) : loadMeshConfig(request.paths, request.options),
  );
});
