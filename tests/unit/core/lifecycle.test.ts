import { describe, expect, it } from 'vitest';

import { HbiError } from '../../../src/core/errors.js';
import { Lifecycle } from '../../../src/core/lifecycle.js';
import { createMemoryLogger } from '../../../src/core/logger.js';

describe('Lifecycle', () => {
  it('starts parts in order and stops them in reverse, once', async () => {
    const calls: string[] = [];
    const life = new Lifecycle(createMemoryLogger());
    const a = await life.add(
      'a',
      () => (calls.push('start a'), 'A'),
      (value) => void calls.push(`stop ${value}`),
    );
    await life.add(
      'b',
      async () => calls.push('start b'),
      () => void calls.push('stop b'),
    );
    await life.add('c', () => calls.push('start c')); // nothing to stop
    expect(a).toBe('A');
    expect(life.parts).toEqual(['a', 'b']);
    await Promise.all([life.stop(), life.stop()]);
    await life.stop();
    expect(calls).toEqual(['start a', 'start b', 'start c', 'stop b', 'stop A']);
  });

  it('stops what started when a part fails to start, and throws its typed error', async () => {
    const calls: string[] = [];
    const logger = createMemoryLogger();
    const life = new Lifecycle(logger);
    await life.add(
      'a',
      () => 'a',
      () => void calls.push('stop a'),
    );
    const failure = await life
      .add('b', () => {
        throw new HbiError('CONFIG_INVALID', 'no b');
      })
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'CONFIG_INVALID', message: 'no b' });
    expect(calls).toEqual(['stop a']);
    expect(logger.records.some((record) => record.message === 'boot failed while starting b')).toBe(true);
    await expect(life.add('c', () => 'c')).rejects.toThrow(/stopping/);
  });

  it('runs every stop when one fails, and abandons a stuck one at the deadline, naming it', async () => {
    const calls: string[] = [];
    const logger = createMemoryLogger();
    const life = new Lifecycle(logger, { stopTimeoutMs: 200 });
    await life.add(
      'first',
      () => 1,
      () => void calls.push('stop first'),
    );
    await life.add(
      'stuck',
      () => 2,
      () => new Promise<void>(() => undefined),
    );
    await life.add(
      'broken',
      () => 3,
      () => {
        throw new Error('cannot stop');
      },
    );
    await life.stop();
    expect(logger.records.map((record) => record.message)).toEqual(
      expect.arrayContaining([
        'stop failed at broken',
        'stop deadline passed: abandoning the parts still stopping',
      ]),
    );
    const late = logger.records.find((record) => record.message.startsWith('stop deadline'))!;
    expect(late.fields).toMatchObject({ abandoned: ['stuck', 'first'] });
    // The part after the stuck one never got its turn: the deadline bounds the whole stop.
    expect(calls).toEqual([]);
  });
});
