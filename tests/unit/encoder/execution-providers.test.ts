import { describe, expect, it, vi } from 'vitest';

import { resolveExecutionProviders } from '../../../src/core/encoder/execution-providers.js';
import { createMemoryLogger } from '../../../src/core/logger.js';

describe('resolveExecutionProviders', () => {
  it('needs no probe for cpu and always ends with cpu', async () => {
    const probe = vi.fn();
    const providers = await resolveExecutionProviders({
      requested: ['cpu'],
      modelFile: 'x.onnx',
      timeoutMs: 1000,
      logger: createMemoryLogger(),
      probe,
    });
    expect(providers).toEqual(['cpu']);
    expect(probe).not.toHaveBeenCalled();
  });

  it('keeps a GPU provider whose probe succeeds, in preference order', async () => {
    const providers = await resolveExecutionProviders({
      requested: ['CUDA', 'cpu'],
      modelFile: 'x.onnx',
      timeoutMs: 1000,
      logger: createMemoryLogger(),
      probe: async () => ({ ok: true }),
    });
    expect(providers).toEqual(['cuda', 'cpu']);
  });

  it('drops a provider whose probe fails and logs why', async () => {
    const logger = createMemoryLogger();
    const providers = await resolveExecutionProviders({
      requested: ['tensorrt', 'cuda'],
      modelFile: 'x.onnx',
      timeoutMs: 1000,
      logger,
      probe: async (provider) =>
        provider === 'cuda' ? { ok: true } : { ok: false, reason: 'killed by SIGSEGV' },
    });
    expect(providers).toEqual(['cuda', 'cpu']);
    expect(logger.records[0]!.message).toBe(
      'execution provider "tensorrt" is unavailable (killed by SIGSEGV); falling back to cpu',
    );
  });
});
