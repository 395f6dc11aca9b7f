// The protocol rules as pure functions: how a SotW request is classified,
// when a subscription is a wildcard, push order and endpoint re-warming.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  classifySotwRequest,
  isFullStateType,
  isWildcardSubscription,
  PUSH_ORDER,
  typesToRefreshAfter,
} from '../../src/server/xds-protocol.js';
import { RESOURCE_TYPES } from '../../src/xds/type-urls.js';

test('a request is initial without a nonce or before this stream answered the type; else ack, nack or stale by its nonce', () => {
  assert.equal(classifySotwRequest(undefined, ''), { kind: 'initial' });
  assert.equal(classifySotwRequest('3', ''), { kind: 'initial' }, 'an empty nonce is a (re)subscription');
  assert.equal(classifySotwRequest(undefined, '7'), { kind: 'initial' }, 'a nonce from an earlier stream');
  assert.equal(classifySotwRequest('3', '3'), { kind: 'ack' });
  assert.equal(classifySotwRequest('3', '3', { message: 'bad' }), { kind: 'nack', message: 'bad' });
  assert.equal(classifySotwRequest('3', '2'), { kind: 'stale' });
  assert.equal(classifySotwRequest('3', '2', { message: 'old rejection' }), { kind: 'stale' });
});

test('only CDS and LDS are wildcard-capable: by "*", or by an empty list on the first request only', () => {
  assert.equal(RESOURCE_TYPES.filter(isFullStateType), ['clusters', 'listeners']);
  for (const type of ['clusters', 'listeners'] as const) {
    assert.ok(isWildcardSubscription(type, [], true));
    assert.not.ok(isWildcardSubscription(type, [], false), 'a later empty list names nothing');
    assert.ok(isWildcardSubscription(type, ['*', 'x'], false));
    assert.not.ok(isWildcardSubscription(type, ['x'], true));
  }
  for (const type of ['endpoints', 'routes', 'secrets'] as const) {
    assert.not.ok(isWildcardSubscription(type, [], true));
    assert.not.ok(isWildcardSubscription(type, ['*'], true));
  }
});

test('push order covers every type once; only clusters force a follow-up (endpoints)', () => {
  assert.equal(PUSH_ORDER, ['clusters', 'endpoints', 'listeners', 'routes', 'secrets']);
  assert.equal([...PUSH_ORDER].sort(), [...RESOURCE_TYPES].sort());
  for (const type of RESOURCE_TYPES) assert.equal(typesToRefreshAfter(type), type === 'clusters' ? ['endpoints'] : [], type);
});

test.run();
