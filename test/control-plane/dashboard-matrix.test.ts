// The dashboard's matrix inside serve: predicted once per model for a small
// mesh, and not at all for a mesh too large to translate on serve's event loop.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatIssue } from '../../src/config/diagnostics.js';
import { dashboardMatrix, MAX_PREDICTED_SIDECARS } from '../../src/control-plane/dashboard-matrix.js';
import { loadMeshTexts } from '../../src/control-plane/load-mesh.js';
import { buildMeshModel, type MeshModel } from '../../src/model/mesh-model.js';

function sidecarMesh(sidecars: number): MeshModel {
  const docs = [
    `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web, namespace: shop}
spec:
  hosts: [web.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{name: http, number: 8000, protocol: HTTP, targetPort: 8080}]
  workloadSelector: {labels: {app: web}}`,
  ];
  for (let i = 1; i <= sidecars; i++) {
    const host = `${Math.floor(i / 250)}.${(i % 250) + 1}`;
    docs.push(`apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: web-${i}
  namespace: shop
  annotations: {sidecar.meshlite.io/applicationAddress: 127.201.${host}, sidecar.meshlite.io/outboundAddress: 127.200.${host}}
spec:
  address: 127.200.${host}
  serviceAccount: web
  labels: {app: web, security.istio.io/tlsMode: istio}`);
  }
  const loaded = loadMeshTexts([{ name: 'mesh.yaml', text: docs.join('\n---\n') }]);
  if (!loaded.ok) throw new Error(loaded.issues.map(formatIssue).join('\n'));
  return buildMeshModel(loaded.config);
}

test('a small mesh is predicted once per model and reused while the page polls', () => {
  let model: MeshModel | undefined = sidecarMesh(2);
  const matrix = dashboardMatrix(() => model);
  const first = matrix();
  assert.ok(first && first.note === undefined, JSON.stringify(first));
  assert.equal(first.clients, ['shop/web-1', 'shop/web-2']);
  assert.ok(
    first.cells.every((c) => c.code === '200' && c.mtls),
    JSON.stringify(first.cells),
  );
  assert.is(matrix(), first, 'same model, same prediction object');
  model = sidecarMesh(3);
  assert.is(matrix()!.clients.length, 3, 'a new model is predicted anew');
  model = undefined;
  assert.is(matrix(), undefined);
});

test('a mesh above the limit is not translated on the event loop: the panel says why', () => {
  const model = sidecarMesh(MAX_PREDICTED_SIDECARS + 1);
  const started = performance.now();
  const m = dashboardMatrix(() => model)();
  const millis = performance.now() - started;
  assert.ok(m?.note?.includes(`${MAX_PREDICTED_SIDECARS + 1} sidecars`), m?.note);
  assert.is(m!.cells.length, 0);
  // Counting sidecars is all it did (translating 41 of them takes far longer).
  assert.ok(millis < 200, `${millis} ms`);
});

test.run();
