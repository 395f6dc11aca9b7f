// MeshConfig accessLogFile / accessLogEncoding / accessLogFormat: the settings
// they load into, and every mistake reported at its file:line:col before a
// proxy would refuse the listeners.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatProblem } from '../../src/config/kinds/access-log-settings.js';
import { configOf, expectIssues, yaml } from '../support/fixtures/index.js';

const MESH = (fields: string) => yaml`
  apiVersion: meshlite.io/v1alpha1
  kind: MeshConfig
  metadata:
    name: mesh
  spec:
${fields.replace(/^/gm, '    ')}
`;

test('no accessLogFile, or an empty one: no access log, whatever the other fields say', () => {
  assert.is(configOf({ 'mesh.yaml': MESH('trustDomain: cluster.local') }).mesh.accessLog, undefined);
  assert.is(configOf({ 'mesh.yaml': MESH('accessLogFile: ""\naccessLogEncoding: JSON') }).mesh.accessLog, undefined);
  assert.is(configOf({ 'mesh.yaml': MESH('accessLogFormat: "%RESPONSE_CODE%"') }).mesh.accessLog, undefined);
});

test('a file alone: TEXT in the default format; JSON with or without a template of its own', () => {
  assert.equal(configOf({ 'mesh.yaml': MESH('accessLogFile: /dev/stdout') }).mesh.accessLog, { path: '/dev/stdout', encoding: 'TEXT' });
  assert.equal(configOf({ 'mesh.yaml': MESH('accessLogFile: /var/log/a.log\naccessLogEncoding: JSON') }).mesh.accessLog, {
    path: '/var/log/a.log',
    encoding: 'JSON',
  });
  const template = `accessLogFile: /dev/stdout
accessLogEncoding: JSON
accessLogFormat: '{"code": "%RESPONSE_CODE%", "who": "%DOWNSTREAM_PEER_URI_SAN%", "at": "%START_TIME(%s)%"}'`;
  assert.equal(configOf({ 'mesh.yaml': MESH(template) }).mesh.accessLog, {
    path: '/dev/stdout',
    encoding: 'JSON',
    json: { code: '%RESPONSE_CODE%', who: '%DOWNSTREAM_PEER_URI_SAN%', at: '%START_TIME(%s)%' },
  });
});

test('a custom TEXT format is kept as written, with the newline that ends each entry added when it lacks one', () => {
  const text = (format: string) =>
    configOf({ 'mesh.yaml': MESH(`accessLogFile: /dev/stdout\naccessLogFormat: ${JSON.stringify(format)}`) }).mesh.accessLog?.text;
  assert.is(text('%RESPONSE_CODE% 100%% done'), '%RESPONSE_CODE% 100%% done\n');
  assert.is(text('[%START_TIME%] %REQ(:PATH):20%\n'), '[%START_TIME%] %REQ(:PATH):20%\n');
});

test('the format syntax Envoy parses: operators, parameters, length caps and %% pass; a stray or unclosed % does not', () => {
  for (const ok of ['plain text', '%%', '%A%%B%', '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%', '%START_TIME(%Y-%m-%d)%', '%REQ(:PATH):10%', ''])
    assert.is(formatProblem(ok), undefined, ok);
  assert.is(
    formatProblem('50% off'),
    'lone "%" at position 2 (command operators look like %RESPONSE_CODE%; write %% for a literal percent sign)',
  );
  assert.match(formatProblem('%RESPONSE_CODE %BYTES_SENT%') ?? '', /^operator %RESPONSE_CODE at position 0 is not closed/);
  assert.match(formatProblem('%REQ(:PATH%') ?? '', /^operator %REQ at position 0 is not closed/);
  assert.match(formatProblem('%response_code%') ?? '', /^lone "%" at position 0/);
  assert.match(formatProblem('ok %DURATION% then %') ?? '', /^lone "%" at position 19/);
});

test('every mistake at its file:line:col: encoding, path, TEXT syntax', () => {
  expectIssues({ 'mesh.yaml': MESH('accessLogFile: /dev/stdout\naccessLogEncoding: json') }, [
    'mesh.yaml:7:22: spec.accessLogEncoding: invalid value "json"; expected one of TEXT, JSON',
  ]);
  expectIssues({ 'mesh.yaml': MESH('accessLogFile: logs/access.log') }, [
    'mesh.yaml:6:18: spec.accessLogFile: "logs/access.log" must be an absolute path (such as /dev/stdout) without NUL, CR or LF',
  ]);
  expectIssues({ 'mesh.yaml': MESH('accessLogFile: /dev/stdout\naccessLogFormat: "%RESPONSE_CODE 100%"') }, [
    'mesh.yaml:7:20: spec.accessLogFormat: operator %RESPONSE_CODE at position 0 is not closed (expected %RESPONSE_CODE%, %RESPONSE_CODE(param)% or %RESPONSE_CODE:length%)',
  ]);
});

test('JSON encoding: the custom format must be a JSON object of format strings', () => {
  const json = (format: string) => MESH(`accessLogFile: /dev/stdout\naccessLogEncoding: JSON\naccessLogFormat: '${format}'`);
  expectIssues({ 'mesh.yaml': json('%RESPONSE_CODE%') }, [
    'mesh.yaml:8:20: spec.accessLogFormat: with accessLogEncoding JSON the format must be a JSON object: Unexpected token \'%\', "%RESPONSE_CODE%" is not valid JSON',
  ]);
  expectIssues({ 'mesh.yaml': json('["%RESPONSE_CODE%"]') }, [
    'mesh.yaml:8:20: spec.accessLogFormat: with accessLogEncoding JSON the format must be a JSON object of field names to format strings',
  ]);
  expectIssues({ 'mesh.yaml': json('{}') }, ['mesh.yaml:8:20: spec.accessLogFormat: the JSON format has no fields']);
  expectIssues({ 'mesh.yaml': json('{"code": 200, "path": "%REQ(:PATH)", "ok": "%DURATION%"}') }, [
    'mesh.yaml:8:20: spec.accessLogFormat: JSON format field "code" must be a string (a format such as "%RESPONSE_CODE%"), got 200',
    'mesh.yaml:8:20: spec.accessLogFormat: JSON format field "path": operator %REQ at position 0 is not closed (expected %REQ%, %REQ(param)% or %REQ:length%)',
  ]);
});

test.run();
