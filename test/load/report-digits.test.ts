import { expect, it } from 'vitest';
import { groupDigits as n } from '../../src/load/report.js';

it('groups counts by thousands as en-US does, without Intl', () => {
  for (const v of [0, 7, 999, 999.6, 1000, 12_345, 123_456, 1_234_567, 2 ** 53, -1, -1234])
    expect(n(v)).toBe(Math.round(v).toLocaleString('en-US'));
});
