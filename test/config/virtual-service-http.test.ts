// VirtualService HTTP rules: route/redirect/directResponse, matches (string
// matches, RE2 regexes, headers), weights, destinations, header operations,
// retries, faults, mirrors, and the converted shape of a full rule.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { configOf, documentText, expectIssues, gateway } from '../support/fixtures/index.js';

/** A VirtualService foo/reviews; `spec` lines start at line 8 (hosts is line 7). */
const vs = (spec: string, hosts = '[reviews]', name = 'reviews', extraMeta = '') =>
  documentText('VirtualService', `foo/${name}`, `  hosts: ${hosts}\n${spec}`, extraMeta);

/** A VirtualService with one http rule, written from line 9 (`- ...`). */
const http = (rule: string) => vs(`  http:\n  ${rule}`);

test('an http rule forwards, redirects or responds directly: exactly one of them', () => {
  expectIssues(
    vs(
      [
        '  http:',
        '  - name: nothing',
        '  - route: []',
        '  - route:',
        '    - destination: {host: reviews}',
        '    redirect: {uri: /v2}',
        '  - directResponse: {status: 503}',
        '    redirect: {uri: /v2}',
        '',
      ].join('\n'),
    ),
    [
      'test.yaml:9:5: spec.http[0]: needs one of route, redirect or directResponse',
      'test.yaml:10:5: spec.http[1]: needs one of route, redirect or directResponse',
      'test.yaml:13:15: spec.http[2].redirect: redirect cannot be combined with route: a rule forwards, redirects or responds directly',
      'test.yaml:14:21: spec.http[3].directResponse: directResponse cannot be combined with redirect: a rule forwards, redirects or responds directly',
    ],
  );
});

test('forwarding settings have no effect on redirects and direct responses', () => {
  expectIssues(
    http('- redirect: {authority: v2.example.com}\n    rewrite: {uri: /}\n    timeout: 5s\n    fault: {abort: {httpStatus: 500}}\n'),
    [
      'test.yaml:10:14: spec.http[0].rewrite: rewrite has no effect with redirect: the request is not forwarded',
      'test.yaml:11:14: spec.http[0].timeout: timeout has no effect with redirect: the request is not forwarded',
      'test.yaml:12:12: spec.http[0].fault: fault has no effect with redirect: the request is not forwarded',
    ],
  );
});

test('string matches take exactly one of exact, prefix or regex', () => {
  expectIssues(
    http(
      [
        '- match:',
        '    - uri: {}',
        '    - uri: {exact: /a, prefix: /b}',
        '      method: {regex: "GET|POST"}',
        '      queryParams:',
        '        v: {prefix: "1"}',
        '    route:',
        '    - destination: {host: reviews}',
        '',
      ].join('\n'),
    ),
    [
      'test.yaml:10:12: spec.http[0].match[0].uri: needs one of exact, prefix, regex',
      'test.yaml:11:32: spec.http[0].match[1].uri.prefix: exact, prefix are alternatives: set only one',
      'test.yaml:14:21: spec.http[0].match[1].queryParams.v.prefix: prefix is not supported here; use exact or regex',
    ],
  );
});

test('regexes must work in RE2: they must compile, without lookaround or backreferences', () => {
  expectIssues(
    http(
      [
        '- match:',
        '    - uri: {regex: "/(a|b"}',
        '    - uri: {regex: "/(?!admin).*"}',
        '    - authority: {regex: "(a)\\\\1"}',
        '    - uri: {regex: ""}',
        '    route:',
        '    - destination: {host: reviews}',
        '',
      ].join('\n'),
    ),
    [
      'test.yaml:10:20: spec.http[0].match[0].uri.regex: invalid regex: Unterminated group',
      'test.yaml:11:20: spec.http[0].match[1].uri.regex: lookahead and lookbehind are not supported by RE2, the regex engine Envoy uses',
      'test.yaml:12:26: spec.http[0].match[2].authority.regex: backreferences are not supported by RE2, the regex engine Envoy uses',
      'test.yaml:13:20: spec.http[0].match[3].uri.regex: regex must not be empty',
    ],
  );
  const config = configOf(
    http(
      '- match:\n    - uri: {regex: "(?i)/api/(?P<version>v[0-9]+)/.*"}\n    - uri: {regex: "\\\\A/[[:alpha:]]+\\\\z"}\n    route:\n    - destination: {host: reviews}\n',
    ),
  );
  assert.equal(
    config.virtualServices[0]!.spec.http[0]!.match.map((m) => m.uri),
    [{ regex: '(?i)/api/(?P<version>v[0-9]+)/.*' }, { regex: '\\A/[[:alpha:]]+\\z' }],
  );
});

test('header matches: lower-case token names; {} tests presence; JWT claims are refused', () => {
  expectIssues(
    http(
      [
        '- match:',
        '    - headers:',
        '        X-User: {exact: a}',
        '        "bad header": {exact: a}',
        '        "@request.auth.claims.group": {exact: admin}',
        '    route:',
        '    - destination: {host: reviews}',
        '',
      ].join('\n'),
    ),
    [
      'test.yaml:11:17: spec.http[0].match[0].headers.X-User: header names must be lower-case; use "x-user"',
      'test.yaml:12:23: spec.http[0].match[0].headers["bad header"]: invalid header name "bad header": header names are letters, digits and !#$%&\'*+-.^_`|~',
      'test.yaml:13:39: spec.http[0].match[0].headers["@request.auth.claims.group"]: routing on JWT claims (@request.auth.claims) is not supported by meshlite',
    ],
  );
  const config = configOf(
    http(
      '- match:\n    - headers: {x-canary: {}, ":method": {exact: GET}}\n      withoutHeaders: {x-debug: {}}\n    route:\n    - destination: {host: reviews}\n',
    ),
  );
  const match = config.virtualServices[0]!.spec.http[0]!.match[0]!;
  assert.equal(
    [match.headers, match.withoutHeaders],
    [{ 'x-canary': { regex: '.*' }, ':method': { exact: 'GET' } }, { 'x-debug': { regex: '.*' } }],
  );
});

test('match gateways must be among spec.gateways, or the match can never apply', () => {
  expectIssues(
    {
      'gw.yaml': gateway('foo/ingress'),
      'vs.yaml': vs(
        '  gateways: [ingress]\n  http:\n  - match:\n    - gateways: [mesh, foo/ingress]\n    route:\n    - destination: {host: reviews}\n',
        '[reviews.example.com]',
      ),
    },
    [
      'vs.yaml:11:18: spec.http[0].match[0].gateways[0]: gateway "mesh" is not in spec.gateways (foo/ingress), so this match can never apply',
    ],
  );
});

test('weights are relative; with several destinations each needs one, and they cannot all be 0', () => {
  expectIssues(
    vs(
      [
        '  http:',
        '  - route:',
        '    - destination: {host: reviews, subset: v1}',
        '      weight: 90',
        '    - destination: {host: reviews, subset: v2}',
        '  - route:',
        '    - destination: {host: reviews, subset: v1}',
        '      weight: 0',
        '    - destination: {host: reviews, subset: v2}',
        '      weight: 0',
        '',
      ].join('\n'),
    ),
    [
      'test.yaml:12:7: spec.http[0].route[1]: weight is required when a rule has several destinations (Istio reads a missing weight as 0: no traffic)',
      'test.yaml:14:5: spec.http[1].route: the destination weights add up to 0; at least one must be positive',
    ],
  );
  const config = configOf(
    http(
      '- route:\n    - destination: {host: reviews, subset: v1}\n      weight: 1\n    - destination: {host: reviews, subset: v2}\n      weight: 3\n',
    ),
  );
  assert.equal(
    config.virtualServices[0]!.spec.http[0]!.route.map((r) => r.weight),
    [1, 3],
  );
  expectIssues(http('- route:\n    - destination: {host: reviews}\n      weight: -1\n'), [
    'test.yaml:11:15: spec.http[0].route[0].weight: must be >= 0, got -1',
  ]);
});

test('destinations need a service host and a DNS-label subset', () => {
  expectIssues(
    http(
      '- route:\n    - destination: {host: "*", subset: V1}\n      weight: 50\n    - destination: {port: {number: 80}}\n      weight: 50\n',
    ),
    ['test.yaml:12:20: spec.http[0].route[1].destination.host: required field is missing'],
  );
  expectIssues(http('- route:\n    - destination: {host: "*", subset: V1}\n    mirror: {host: 10.0.0.1}\n'), [
    'test.yaml:10:27: spec.http[0].route[0].destination.host: a destination needs a service host, not "*"',
    'test.yaml:10:40: spec.http[0].route[0].destination.subset: invalid subset name "V1": expected a DNS label',
    'test.yaml:11:20: spec.http[0].mirror.host: an IP address (10.0.0.1) is not allowed here',
  ]);
});

test('redirect, directResponse and rewrite values', () => {
  expectIssues(
    vs(
      [
        '  http:',
        '  - redirect: {redirectCode: 301}',
        '  - redirect: {scheme: ftp, redirectCode: 300}',
        '  - directResponse: {status: 600, body: {bytes: aGk=}}',
        '  - route:',
        '    - destination: {host: reviews}',
        '    rewrite: {}',
        '  - route:',
        '    - destination: {host: reviews}',
        '    rewrite: {authority: v2.reviews}',
        '    headers:',
        '      request:',
        '        set: {Host: other}',
        '',
      ].join('\n'),
    ),
    [
      'test.yaml:9:15: spec.http[0].redirect: redirect needs at least one of uri, authority, scheme or port',
      'test.yaml:10:24: spec.http[1].redirect.scheme: invalid scheme "ftp": expected http or https',
      'test.yaml:10:43: spec.http[1].redirect.redirectCode: unsupported redirect code 300; Envoy sends 301, 302, 303, 307, 308',
      'test.yaml:11:30: spec.http[2].directResponse.status: HTTP status 600 is not in the range 200-599',
      'test.yaml:11:49: spec.http[2].directResponse.body.bytes: bytes is not supported by meshlite; use string',
      'test.yaml:14:14: spec.http[3].rewrite: rewrite needs uri or authority',
      'test.yaml:20:21: spec.http[4].headers.request.set.Host: the authority is already rewritten by rewrite.authority',
    ],
  );
});

test('header operations: valid names; pseudo-headers and host only where they can be set', () => {
  expectIssues(
    http(
      [
        '- route:',
        '    - destination: {host: reviews}',
        '      headers:',
        '        response: {set: {":status": "200"}, remove: [host]}',
        '    headers:',
        '      request: {add: {"x y": "1", ":authority": a.example.com}, remove: [":path"]}',
        '',
      ].join('\n'),
    ),
    [
      'test.yaml:12:37: spec.http[0].route[0].headers.response.set[":status"]: header ":status" cannot be changed here',
      'test.yaml:12:54: spec.http[0].route[0].headers.response.remove[0]: header "host" cannot be changed here',
      'test.yaml:14:30: spec.http[0].headers.request.add["x y"]: invalid header name "x y": header names are letters, digits and !#$%&\'*+-.^_`|~',
      'test.yaml:14:74: spec.http[0].headers.request.remove[0]: header ":path" cannot be changed here',
    ],
  );
});

test('retries: attempts >= 0, settings need attempts, known retryOn conditions', () => {
  expectIssues(http('- route: [{destination: {host: reviews}}]\n    retries: {attempts: -1}\n'), [
    'test.yaml:10:25: spec.http[0].retries.attempts: must be >= 0, got -1',
  ]);
  expectIssues(
    vs(
      '  http:\n  - route: [{destination: {host: reviews}}]\n    retries: {perTryTimeout: 2s}\n  - route: [{destination: {host: reviews}}]\n    retries: {attempts: 3, retryOn: "5xx,connect-failure,503,oops"}\n',
    ),
    [
      'test.yaml:10:14: spec.http[0].retries.attempts: retries are off when attempts is 0 (the default); perTryTimeout and retryOn need attempts >= 1',
      'test.yaml:12:37: spec.http[1].retries.retryOn: unknown retryOn condition "oops"',
    ],
  );
});

test('fault injection: delay or abort, percentages 0-100, abort status 200-599', () => {
  expectIssues(
    vs(
      [
        '  http:',
        '  - route: [{destination: {host: reviews}}]',
        '    fault: {}',
        '  - route: [{destination: {host: reviews}}]',
        '    fault:',
        '      delay: {percentage: {value: 120}}',
        '      abort: {httpStatus: 700, percentage: {value: 0.5}}',
        '  - route: [{destination: {host: reviews}}]',
        '    fault: {abort: {grpcStatus: UNAVAILABLE}}',
        '',
      ].join('\n'),
    ),
    [
      'test.yaml:10:12: spec.http[0].fault: fault needs delay or abort',
      'test.yaml:13:14: spec.http[1].fault.delay.fixedDelay: a delay needs fixedDelay',
      'test.yaml:13:35: spec.http[1].fault.delay.percentage.value: expected a number from 0 to 100, got 120',
      'test.yaml:14:27: spec.http[1].fault.abort.httpStatus: HTTP status 700 is not in the range 200-599',
      'test.yaml:16:33: spec.http[2].fault.abort.grpcStatus: grpcStatus is not supported by meshlite',
    ],
  );
});

test('mirrors: mirrorPercentage needs mirror and defaults to 100; Istio fields meshlite lacks are refused', () => {
  expectIssues(
    http(
      '- route: [{destination: {host: reviews}}]\n    mirrorPercentage: {value: 10}\n    corsPolicy: {allowOrigins: [{exact: "*"}]}\n    mirrorPercent: 5\n',
    ),
    [
      'test.yaml:10:23: spec.http[0].mirrorPercentage: mirrorPercentage needs mirror',
      'test.yaml:11:17: spec.http[0].corsPolicy: corsPolicy is not supported by meshlite',
      'test.yaml:12:20: spec.http[0].mirrorPercent: mirrorPercent is deprecated and not supported by meshlite; use mirrorPercentage',
    ],
  );
  const config = configOf(http('- route: [{destination: {host: reviews}}]\n    mirror: {host: reviews-shadow, port: {number: 9080}}\n'));
  const rule = config.virtualServices[0]!.spec.http[0]!;
  assert.equal([rule.mirror, rule.mirrorPercentage], [{ host: 'reviews-shadow', subset: undefined, port: 9080 }, 100]);
});

test('a full http rule is converted as written, with defaults filled in', () => {
  const config = configOf({
    'gw.yaml': gateway('foo/ingress'),
    'vs.yaml': vs(
      [
        '  gateways: [ingress, mesh]',
        '  http:',
        '  - name: v2-canary',
        '    match:',
        '    - name: api',
        '      uri: {prefix: /api}',
        '      headers: {x-canary: {exact: "on"}}',
        '      queryParams: {debug: {exact: ""}}',
        '      ignoreUriCase: true',
        '      gateways: [ingress]',
        '      sourceLabels: {app: web}',
        '      port: 9080',
        '    route:',
        '    - destination: {host: reviews, subset: v2, port: {number: 9080}}',
        '      weight: 25',
        '      headers: {response: {add: {x-version: v2}}}',
        '    - destination: {host: reviews, subset: v1}',
        '      weight: 75',
        '    rewrite: {uri: /}',
        '    timeout: 5s',
        '    retries: {attempts: 2, perTryTimeout: 1s, retryOn: "5xx,reset"}',
        '    fault: {delay: {fixedDelay: 100ms, percentage: {value: 0.5}}}',
        '    headers: {request: {set: {x-route: canary}, remove: [x-debug]}}',
        '',
      ].join('\n'),
      '[reviews, reviews.example.com]',
    ),
  });
  const spec = config.virtualServices[0]!.spec;
  assert.equal(
    [spec.hosts, spec.gateways, spec.tls, spec.tcp, spec.exportTo],
    [['reviews', 'reviews.example.com'], ['foo/ingress', 'mesh'], [], [], []],
  );
  assert.equal(spec.http, [
    {
      name: 'v2-canary',
      match: [
        {
          name: 'api',
          uri: { prefix: '/api' },
          scheme: undefined,
          method: undefined,
          authority: undefined,
          headers: { 'x-canary': { exact: 'on' } },
          withoutHeaders: {},
          queryParams: { debug: { exact: '' } },
          port: 9080,
          sourceLabels: { app: 'web' },
          sourceNamespace: undefined,
          gateways: ['foo/ingress'],
          ignoreUriCase: true,
        },
      ],
      route: [
        {
          destination: { host: 'reviews', subset: 'v2', port: 9080 },
          weight: 25,
          headers: { request: undefined, response: { set: {}, add: { 'x-version': 'v2' }, remove: [] } },
        },
        { destination: { host: 'reviews', subset: 'v1', port: undefined }, weight: 75, headers: undefined },
      ],
      redirect: undefined,
      directResponse: undefined,
      rewrite: { uri: '/', authority: undefined },
      timeout: '5s',
      retries: { attempts: 2, perTryTimeout: '1s', retryOn: '5xx,reset' },
      fault: { delay: { fixedDelay: '100ms', percentage: 0.5 } },
      mirror: undefined,
      mirrorPercentage: undefined,
      headers: { request: { set: { 'x-route': 'canary' }, add: {}, remove: ['x-debug'] }, response: undefined },
    },
  ]);
});

test.run();
