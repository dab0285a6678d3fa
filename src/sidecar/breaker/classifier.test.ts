import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createClassifier } from './classifier.ts';

test('default: 5xx and upstream error codes fail; 4xx, 2xx and proxy-made rejections succeed', () => {
  const classify = createClassifier();
  const table: Array<[Parameters<typeof classify>[0], 'success' | 'failure']> = [
    [{ status: 200 }, 'success'],
    [{ status: 404 }, 'success'],
    [{ status: 429 }, 'success'],
    [{ status: 500 }, 'failure'],
    [{ status: 503 }, 'failure'],
    [{ status: 599 }, 'failure'],
    [{ status: 999 }, 'failure'],
    [{ errorCode: 'UPSTREAM_TIMEOUT' }, 'failure'],
    [{ errorCode: 'UPSTREAM_CONNECT' }, 'failure'],
    [{ errorCode: 'UPSTREAM_RESET' }, 'failure'],
    [{ errorCode: 'UPSTREAM_PROTOCOL' }, 'failure'],
    // a proxy-made 503 is judged by its code, not its status
    [{ status: 503, errorCode: 'BULKHEAD_FULL' }, 'success'],
    [{ errorCode: 'RATE_LIMITED' }, 'success'],
    [{}, 'success'],
  ];
  for (const [input, expected] of table) assert.equal(classify(input), expected, JSON.stringify(input));
});

test('configurable statuses and codes', () => {
  const classify = createClassifier({ failureStatuses: [502, 429], failureErrorCodes: ['UPSTREAM_TIMEOUT'] });
  assert.equal(classify({ status: 500 }), 'success');
  assert.equal(classify({ status: 502 }), 'failure');
  assert.equal(classify({ status: 429 }), 'failure');
  assert.equal(classify({ errorCode: 'UPSTREAM_CONNECT' }), 'success');
  assert.equal(classify({ errorCode: 'UPSTREAM_TIMEOUT' }), 'failure');
});

test('rejects statuses outside 100-599', () => {
  assert.throws(() => createClassifier({ failureStatuses: [600], failureErrorCodes: [] }), /600/);
});
