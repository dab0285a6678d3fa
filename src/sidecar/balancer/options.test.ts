import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBalancerConfigError } from './errors.ts';
import { parseOptions } from './options.ts';

const SPEC = {
  timeoutS: { default: 30, min: 0.5, max: 100, doc: 'seconds' },
  times: { default: 5, min: 1, max: 10, integer: true, doc: 'count' },
} as const;

const CASES: Array<{ input: unknown; output?: Record<string, number>; error?: RegExp }> = [
  { input: undefined, output: { timeoutS: 30, times: 5 } },
  { input: null, output: { timeoutS: 30, times: 5 } },
  { input: {}, output: { timeoutS: 30, times: 5 } },
  { input: { timeoutS: 1.5 }, output: { timeoutS: 1.5, times: 5 } },
  { input: { timeoutS: ' 2 ', times: '7' }, output: { timeoutS: 2, times: 7 } },
  { input: { times: '' }, output: { timeoutS: 30, times: 5 } },
  { input: { times: 2.5 }, error: /times must be an integer from 1 to 10 \(count\), got 2\.5/ },
  { input: { timeoutS: 0 }, error: /timeoutS must be a number from 0\.5 to 100/ },
  { input: { timeoutS: 'soon' }, error: /timeoutS .* got "soon"/ },
  { input: { timeoutS: true }, error: /timeoutS .* got true/ },
  { input: { nope: 1 }, error: /unknown option "nope" \(known: timeoutS, times\)/ },
  { input: 'x', error: /options must be an object/ },
  { input: [1], error: /options must be an object/ },
  // Every problem in one error.
  {
    input: { times: 0, timeoutS: 1000, extra: 1 },
    error: /extra.*; .*timeoutS.*; .*times|extra.*times.*timeoutS/,
  },
];

for (const c of CASES) {
  test(`parseOptions(${JSON.stringify(c.input)})`, () => {
    if (c.error) {
      assert.throws(
        () => parseOptions('Strategy', SPEC, c.input),
        (err: unknown) =>
          isBalancerConfigError(err) &&
          err.code === 'INVALID_BALANCER_OPTION' &&
          err.message.startsWith('Strategy: ') &&
          c.error!.test(err.message),
      );
      return;
    }
    const out = parseOptions('Strategy', SPEC, c.input);
    assert.deepEqual({ ...out }, c.output);
    assert.ok(Object.isFrozen(out), 'frozen');
    // Round trip: parsing the output again gives the same output.
    assert.deepEqual({ ...parseOptions('Strategy', SPEC, { ...out }) }, c.output);
  });
}
