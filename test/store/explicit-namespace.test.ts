// What apply stores names its namespace: the default is written into the
// user's text (the rest of it unchanged) and into the key.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { splitResourceDocuments } from '../../src/store/resource-documents.js';

const FILE = `# the front end
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: front   # the route of the shop
  labels: {app: front}
spec:
  hosts: [front]
  http:
  - route:
    - destination: {host: front}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: front, labels: {app: front}}
spec: {host: front}
---
{"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": {"name": "edge"}, "spec": {"servers": []}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: pinned
  namespace: billing
spec: {hosts: [pinned.example.internal]}
---
apiVersion: meshlite.io/v1alpha1
kind: MeshConfig
metadata:
  name: mesh
---
apiVersion: example.com/v1
kind: Unknown
metadata:
  name: left-alone
`;

test('without a default the documents are stored as written (the loader refuses the namespaced ones)', () => {
  const docs = splitResourceDocuments(FILE);
  assert.equal(docs[0]!.key, 'config/networking.istio.io/VirtualService/-/front');
  assert.not.match(docs[0]!.text, 'namespace');
});

test('the default goes into the key and, as one line after the name, into the text; the rest is untouched', () => {
  const docs = splitResourceDocuments(FILE, 'shop');
  assert.equal(
    docs.map((d) => d.key),
    [
      'config/networking.istio.io/VirtualService/shop/front',
      'config/networking.istio.io/DestinationRule/shop/front',
      'config/networking.istio.io/Gateway/shop/edge',
      'config/networking.istio.io/ServiceEntry/billing/pinned',
      'config/meshlite.io/MeshConfig/-/mesh',
      // Not a kind meshlite reads: the loader refuses it, so nothing is guessed for it.
      'config/example.com/Unknown/-/left-alone',
    ],
  );
  assert.is(
    docs[0]!.text,
    `# the front end
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: front   # the route of the shop
  namespace: shop
  labels: {app: front}
spec:
  hosts: [front]
  http:
  - route:
    - destination: {host: front}
`,
  );
  assert.is(
    docs[1]!.text,
    'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: front, "namespace": "shop", labels: {app: front}}\nspec: {host: front}\n',
  );
  // JSON stays JSON.
  assert.equal(JSON.parse(docs[2]!.text).metadata, { name: 'edge', namespace: 'shop' });
  for (const i of [3, 4, 5]) assert.not.match(docs[i]!.text, 'shop');
  assert.equal(parse(docs[4]!.text).metadata, { name: 'mesh' });
});

test('a document whose name is the last line of the file gets the namespace after it', () => {
  const [doc] = splitResourceDocuments(
    'apiVersion: networking.istio.io/v1\nkind: Gateway\nspec: {servers: []}\nmetadata:\n    name: edge',
    'shop',
  );
  assert.is(doc!.key, 'config/networking.istio.io/Gateway/shop/edge');
  assert.equal(parse(doc!.text).metadata, { name: 'edge', namespace: 'shop' });
  assert.match(doc!.text, '    name: edge\n    namespace: shop\n');
});

test('metadata the line insertion cannot follow (behind an alias) is written out again, still with the namespace', () => {
  const text = 'apiVersion: networking.istio.io/v1\nkind: Gateway\nx: &m {name: edge}\nmetadata: *m\nspec: {servers: []}\n';
  const [doc] = splitResourceDocuments(text, 'shop');
  assert.is(doc!.key, 'config/networking.istio.io/Gateway/shop/edge');
  assert.equal(parse(doc!.text).metadata, { name: 'edge', namespace: 'shop' }, doc!.text);
});

test.run();
