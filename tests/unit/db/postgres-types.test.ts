import { describe, expect, it } from 'vitest';

import { parseArrayLiteral } from '../../../src/core/db/postgres.js';

describe('parseArrayLiteral (PostgreSQL array text, as PGlite parses it)', () => {
  it.each([
    ['{}', []],
    ['{1,2,3}', ['1', '2', '3']],
    [
      '{{1,2},{3,4}}',
      [
        ['1', '2'],
        ['3', '4'],
      ],
    ],
    ['{a,NULL,"NULL",""}', ['a', null, 'NULL', '']],
    ['{"a,b","c\\"d","e\\\\f"}', ['a,b', 'c"d', 'e\\f']],
    ['{"{x}"}', ['{x}']],
  ])('%s', (text, expected) => {
    expect(parseArrayLiteral(text, (value) => value)).toEqual(expected);
  });

  it('parses elements with the element type’s parser and honours the delimiter', () => {
    expect(parseArrayLiteral('{1,2}', Number)).toEqual([1, 2]);
    expect(parseArrayLiteral('{(1,1),(0,0);(2,2),(1,1)}', (value) => value, ';')).toEqual([
      '(1,1),(0,0)',
      '(2,2),(1,1)',
    ]);
  });
});
