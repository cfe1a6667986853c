import { describe, expect, it } from 'vitest';

import { createMemoryEventBus } from '../../../src/core/events/memory.js';
import { eventBusContract } from './event-bus-contract.js';

eventBusContract('memory', async () => createMemoryEventBus({ partitions: 4 }));

describe('memory bus specifics', () => {
  it('refuses to publish after close', async () => {
    const bus = createMemoryEventBus();
    await bus.close();
    await expect(bus.publish('t', [{ key: 'k', value: 1 }])).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});
