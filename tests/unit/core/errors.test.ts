import { describe, expect, it } from 'vitest';

import {
  ERROR_CODES,
  HbiError,
  UnreachableCaseError,
  isHbiError,
  isRetriable,
  toHbiError,
} from '../../../src/core/errors.js';

describe('HbiError', () => {
  it('takes retriable and HTTP status from the catalogue', () => {
    const overloaded = new HbiError('ENCODER_OVERLOADED', 'queue full');
    expect(overloaded.retriable).toBe(true);
    expect(overloaded.httpStatus).toBe(503);
    expect(new HbiError('VIDEO_UNREADABLE', 'corrupt').retriable).toBe(false);
  });

  it('lets one instance override retriable and keeps its cause and details', () => {
    const cause = new Error('disk');
    const error = new HbiError('UNAVAILABLE', 'store down', {
      cause,
      retriable: false,
      details: { store: 'fs' },
    });
    expect(error.retriable).toBe(false);
    expect(error.cause).toBe(cause);
    expect(error.details).toEqual({ store: 'fs' });
    expect(Object.isFrozen(error.details)).toBe(true);
  });

  it('documents every code with a boolean retriable flag and an HTTP status', () => {
    for (const [code, entry] of Object.entries(ERROR_CODES)) {
      expect(typeof entry.retriable, code).toBe('boolean');
      expect(entry.httpStatus, code).toBeGreaterThanOrEqual(400);
    }
  });
});

describe('error helpers', () => {
  it('recognises HbiErrors made by another copy of the module by name and code', () => {
    const foreign = Object.assign(new Error('x'), { name: 'HbiError', code: 'NOT_FOUND', retriable: false });
    expect(isHbiError(foreign)).toBe(true);
    expect(isHbiError(Object.assign(new Error('x'), { name: 'HbiError', code: 'NOPE' }))).toBe(false);
  });

  it('wraps unknown errors, keeping the original as cause', () => {
    const original = new TypeError('boom');
    const wrapped = toHbiError(original, 'INFERENCE_FAILED');
    expect(wrapped.code).toBe('INFERENCE_FAILED');
    expect(wrapped.cause).toBe(original);
    const same = new HbiError('NOT_FOUND', 'gone');
    expect(toHbiError(same)).toBe(same);
  });

  it('treats unknown errors as retriable and HbiErrors by their flag', () => {
    expect(isRetriable(new Error('network blip'))).toBe(true);
    expect(isRetriable(new HbiError('BAD_USER_INPUT', 'no'))).toBe(false);
  });

  it('UnreachableCaseError names the unexpected value', () => {
    expect(new UnreachableCaseError('weird' as never).message).toContain('"weird"');
  });
});
