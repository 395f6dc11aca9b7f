// Schema errors: unknown fields (with "did you mean"), wrong types and bad
// enum values, each at the exact line/column of the offending key or value.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateSchema, obj, str, int, list } from '../../src/config/schema.js';
import { expectIssues, yaml } from '../support/fixtures/index.js';

test('typo at spec level is reported at the key, with a hint', () => {
  expectIssues(
    yaml`
      apiVersion: security.istio.io/v1
      kind: PeerAuthentication
      metadata:
        name: x
        namespace: foo
      spec:
        selecter:
          matchLabels: {app: a}
        mtls:
          mode: STRICT
    `,
    ['test.yaml:7:3: spec.selecter: unknown field "selecter" (did you mean "selector"?)'],
  );
});

test('an unknown field far from every known one gets no hint', () => {
  expectIssues(
    yaml`
      apiVersion: security.istio.io/v1
      kind: PeerAuthentication
      metadata:
        name: x
        namespace: foo
      spec:
        frobnicate: true
    `,
    ['test.yaml:7:3: spec.frobnicate: unknown field "frobnicate"'],
  );
});

test('typos deep inside a DestinationRule: trafficPolicy.tls, portLevelSettings items, subsets', () => {
  expectIssues(
    yaml`
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata:
        name: x
        namespace: foo
      spec:
        host: x.foo.svc.cluster.local
        trafficPolicy:
          tls:
            mode: SIMPLE
            caCertificate: /etc/ca.pem
          portLevelSettings:
          - port: {number: 80}
            loadBalancr: {simple: RANDOM}
          - port:
              nmber: 81
        subsets:
        - name: v1
          trafficPolicy:
            tls: {mode: SIMPLE, snii: x.example.com}
    `,
    [
      'test.yaml:11:7: spec.trafficPolicy.tls.caCertificate: unknown field "caCertificate" (did you mean "caCertificates"?)',
      'test.yaml:14:7: spec.trafficPolicy.portLevelSettings[0].loadBalancr: unknown field "loadBalancr" (did you mean "loadBalancer"?)',
      'test.yaml:16:9: spec.trafficPolicy.portLevelSettings[1].port.nmber: unknown field "nmber" (did you mean "number"?)',
      'test.yaml:16:9: spec.trafficPolicy.portLevelSettings[1].port.number: required field is missing',
      'test.yaml:20:27: spec.subsets[0].trafficPolicy.tls.snii: unknown field "snii" (did you mean "sni"?)',
    ],
  );
});

test('typos in ServiceEntry ports and endpoints, WorkloadEntry and MeshConfig specs', () => {
  expectIssues(
    {
      'se.yaml': yaml`
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata:
          name: se
          namespace: foo
        spec:
          hosts: [se.example.com]
          ports:
          - {number: 443, name: https, protocl: HTTPS}
          resolution: DNS
          endpoints:
          - address: se.example.com
            lables: {app: se}
      `,
      'we.yaml': yaml`
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata:
          name: we
          namespace: foo
        spec:
          address: 10.0.0.1
          serviceAcount: we
      `,
      'mesh.yaml': yaml`
        apiVersion: meshlite.io/v1alpha1
        kind: MeshConfig
        metadata:
          name: mesh
        spec:
          trustDomian: example.org
      `,
    },
    [
      'mesh.yaml:6:3: spec.trustDomian: unknown field "trustDomian" (did you mean "trustDomain"?)',
      'se.yaml:9:32: spec.ports[0].protocl: unknown field "protocl" (did you mean "protocol"?)',
      'se.yaml:13:5: spec.endpoints[0].lables: unknown field "lables" (did you mean "labels"?)',
      'we.yaml:8:3: spec.serviceAcount: unknown field "serviceAcount" (did you mean "serviceAccount"?)',
    ],
  );
});

test('wrong types: string for int, map for list, list for map, scalar for list, string for bool', () => {
  expectIssues(
    {
      'dr.yaml': yaml`
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: dr
          namespace: foo
        spec:
          host: dr.foo.svc.cluster.local
          trafficPolicy:
            tls:
              mode: SIMPLE
              insecureSkipVerify: "yes"
            connectionPool:
              tcp: {maxConnections: "100"}
            outlierDetection:
              interval: 5
              baseEjectionTime: 5 minutes
              maxEjectionPercent: 150
          subsets:
            name: v1
      `,
      'pa.yaml': yaml`
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata:
          name: pa
          namespace: foo
        spec:
          selector:
            matchLabels: [app, pa]
      `,
      'se.yaml': yaml`
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata:
          name: se
          namespace: foo
        spec:
          hosts: se.example.com
          ports:
          - {number: "443", name: https}
      `,
      'we.yaml': yaml`
        apiVersion: networking.istio.io/v1
        kind: WorkloadEntry
        metadata:
          name: we
          namespace: foo
        spec:
          address: 10.0.0.1
          weight: 1.5
          ports: {http: 70000}
          labels: {version: 2}
      `,
    },
    [
      'dr.yaml:11:27: spec.trafficPolicy.tls.insecureSkipVerify: expected true or false, got string "yes"',
      'dr.yaml:13:29: spec.trafficPolicy.connectionPool.tcp.maxConnections: expected an integer, got string "100"',
      'dr.yaml:15:17: spec.trafficPolicy.outlierDetection.interval: expected a string, got number 5',
      'dr.yaml:16:25: spec.trafficPolicy.outlierDetection.baseEjectionTime: invalid value "5 minutes": expected a duration such as "5s", "100ms" or "1m30s"',
      'dr.yaml:17:27: spec.trafficPolicy.outlierDetection.maxEjectionPercent: must be <= 100, got 150',
      'dr.yaml:19:5: spec.subsets: expected a list, got a map',
      'pa.yaml:8:18: spec.selector.matchLabels: expected a map, got a list',
      'se.yaml:7:10: spec.hosts: expected a list, got string "se.example.com"',
      'se.yaml:9:14: spec.ports[0].number: expected an integer, got string "443"',
      'we.yaml:8:11: spec.weight: expected an integer, got number 1.5',
      'we.yaml:9:17: spec.ports.http: must be <= 65535, got 70000',
      'we.yaml:10:21: spec.labels.version: expected a string, got number 2',
    ],
  );
});

test('a spec that is not a map', () => {
  expectIssues(
    yaml`
      apiVersion: networking.istio.io/v1
      kind: WorkloadEntry
      metadata:
        name: we
        namespace: foo
      spec:
      - address: 10.0.0.1
    `,
    ['test.yaml:7:1: spec: expected a map, got a list'],
  );
});

test('bad enum values: mtls mode, tls mode, resolution, location, load balancer, interception mode', () => {
  expectIssues(
    {
      'pa.yaml': yaml`
        apiVersion: security.istio.io/v1
        kind: PeerAuthentication
        metadata:
          name: pa
          namespace: foo
        spec:
          selector:
            matchLabels: {app: pa}
          mtls: {mode: strict}
          portLevelMtls:
            8080: {mode: OFF}
      `,
      'dr.yaml': yaml`
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata:
          name: dr
          namespace: foo
        spec:
          host: dr.foo.svc.cluster.local
          trafficPolicy:
            loadBalancer: {simple: LEAST_REQUESTS}
            tls:
              mode: MUTUAL_TLS
      `,
      'se.yaml': yaml`
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata:
          name: se
          namespace: foo
        spec:
          hosts: [se.example.com]
          location: EXTERNAL
          resolution: 1
      `,
      'mesh.yaml': yaml`
        apiVersion: meshlite.io/v1alpha1
        kind: MeshConfig
        metadata:
          name: mesh
        spec:
          defaultInterceptionMode: REDIRECT
      `,
    },
    [
      'dr.yaml:9:28: spec.trafficPolicy.loadBalancer.simple: invalid value "LEAST_REQUESTS"; expected one of UNSPECIFIED, RANDOM, PASSTHROUGH, ROUND_ROBIN, LEAST_REQUEST, LEAST_CONN',
      'dr.yaml:11:13: spec.trafficPolicy.tls.mode: invalid value "MUTUAL_TLS"; expected one of DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL',
      'mesh.yaml:6:28: spec.defaultInterceptionMode: invalid value "REDIRECT"; expected one of EXPLICIT, TRANSPARENT',
      'pa.yaml:9:16: spec.mtls.mode: invalid value "strict"; expected one of UNSET, DISABLE, PERMISSIVE, STRICT',
      'pa.yaml:11:18: spec.portLevelMtls["8080"].mode: invalid value "OFF"; expected one of UNSET, DISABLE, PERMISSIVE, STRICT',
      'se.yaml:8:13: spec.location: invalid value "EXTERNAL"; expected one of MESH_EXTERNAL, MESH_INTERNAL',
      'se.yaml:9:15: spec.resolution: invalid value 1; expected one of NONE, STATIC, DNS, DNS_ROUND_ROBIN',
    ],
  );
});

test('null values of optional fields are treated as absent', () => {
  // `mtls:` with no value is allowed, like Kubernetes' null-means-unset.
  const problems = validateSchema(obj({ a: str(), b: int(), c: list(str()) }), { a: null, b: null, c: null });
  assert.equal(problems, []);
});

test('validateSchema reports every problem with its path and whether it points at a key', () => {
  const schema = obj({ name: str({ nonEmpty: true }), ports: list(int(1, 10)) }, { required: ['name'] });
  assert.equal(validateSchema(schema, { nmae: 'x', ports: [1, 11, 'a'] }, ['spec']), [
    { path: ['spec', 'nmae'], message: 'unknown field "nmae" (did you mean "name"?)', atKey: true },
    { path: ['spec', 'ports', 1], message: 'must be <= 10, got 11', atKey: false },
    { path: ['spec', 'ports', 2], message: 'expected an integer, got string "a"', atKey: false },
    { path: ['spec', 'name'], message: 'required field is missing', atKey: false },
  ]);
});

test.run();
