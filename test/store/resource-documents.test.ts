// A config file cut into one stored text per resource, and kinds as users type them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { kindMatches, pluralOf, resolveKind } from '../../src/store/kind-query.js';
import { splitResourceDocuments } from '../../src/store/resource-documents.js';

const FILE = `# header of the file
# belongs to the first resource
apiVersion: networking.istio.io/v1   # trailing comment
kind: Gateway
metadata: {name: gw, namespace: default}
---
# about the route
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: default}
--- # a marker comment
apiVersion: networking.istio.io/v1
kind: MeshConfig
metadata: {name: mesh}
...
---
# only a comment: no resource
---
`;

test('each document keeps its own text and comments, names its key; empty documents are skipped', () => {
  const docs = splitResourceDocuments(FILE);
  assert.equal(
    docs.map((d) => d.key),
    [
      'config/networking.istio.io/Gateway/default/gw',
      'config/networking.istio.io/VirtualService/default/vs',
      'config/networking.istio.io/MeshConfig/-/mesh',
    ],
  );
  assert.ok(docs[0]!.text.startsWith('# header of the file\n# belongs to the first resource\napiVersion'));
  assert.match(docs[0]!.text, '# trailing comment');
  assert.ok(docs[1]!.text.startsWith('# about the route\napiVersion'), docs[1]!.text);
  assert.ok(docs[2]!.text.startsWith('# a marker comment\napiVersion'), docs[2]!.text);
  assert.not.match(docs[2]!.text, '...');
  for (const d of docs) assert.ok(d.text.endsWith('\n'));
  assert.equal(parse(docs[2]!.text), { apiVersion: 'networking.istio.io/v1', kind: 'MeshConfig', metadata: { name: 'mesh' } });
});

test('a document that does not parse or names no resource has no key', () => {
  const docs = splitResourceDocuments('kind: [unclosed\n---\napiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {}\n');
  assert.equal(
    docs.map((d) => d.key),
    [undefined, undefined],
  );
});

test('kinds by name in any case, plural, short name or with the group', () => {
  assert.is(pluralOf('AuthorizationPolicy'), 'authorizationpolicies');
  assert.is(pluralOf('Gateway'), 'gateways');
  assert.is(pluralOf('ServiceEntry'), 'serviceentries');
  const gw = { group: 'networking.istio.io', kind: 'Gateway' };
  for (const q of ['Gateway', 'gateway', 'GATEWAYS', 'gw', 'gateway.networking.istio.io']) assert.ok(kindMatches(gw, q), q);
  assert.not.ok(kindMatches(gw, 'gate'));
  assert.equal(resolveKind('authorizationpolicies'), [{ group: 'security.istio.io', kind: 'AuthorizationPolicy' }]);
  assert.equal(resolveKind('nothing'), []);
});

test.run();
