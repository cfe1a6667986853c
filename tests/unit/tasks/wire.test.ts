import { describe, expect, it } from 'vitest';

import { HbiError } from '../../../src/core/errors.js';
import { decodeTaskError, encodeTaskError, throughWire } from '../../../src/core/tasks/wire.js';

describe('task wire format', () => {
  it('sends values as JSON: Dates become strings, undefined fields vanish', () => {
    expect(throughWire({ at: new Date(0), skip: undefined, list: [1, 'a'] }, 'x')).toEqual({
      at: '1970-01-01T00:00:00.000Z',
      list: [1, 'a'],
    });
    expect(throughWire(undefined, 'x')).toBeUndefined();
  });

  it('refuses values JSON cannot carry with INTERNAL naming them', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => throughWire(cycle, 'The output of task a.b')).toThrow(/The output of task a\.b is not JSON/);
    expect(() => throughWire(1n, 'x')).toThrow(HbiError);
  });

  it('round-trips an HbiError’s code, message, retriable flag and details', () => {
    const original = new HbiError('UNAVAILABLE', 'busy', { retriable: false, details: { queue: 3 } });
    const decoded = decodeTaskError(JSON.parse(JSON.stringify(encodeTaskError(original))), original);
    expect(decoded).toMatchObject({
      code: 'UNAVAILABLE',
      message: 'busy',
      retriable: false,
      details: { queue: 3 },
    });
    expect(decoded.cause).toBe(original);
  });

  it('turns a malformed error or one with an unknown code into INTERNAL', () => {
    expect(decodeTaskError({ code: 'FROM_THE_FUTURE', message: 'x', retriable: true })).toMatchObject({
      code: 'INTERNAL',
      retriable: false,
    });
    expect(decodeTaskError('nonsense')).toMatchObject({ code: 'INTERNAL', message: 'Task failed' });
  });
});
