/**
 * The contract every EventBus adapter passes (memory in the unit tier; Kafka in the integration tier):
 * topics and keys, consumer groups, ordering per key, at-least-once redelivery, retries,
 * dead-lettering and listing dead letters.
 */
import { describe, expect, it } from 'vitest';

import { HbiError } from '../../../src/core/errors.js';
import type { EventBus, EventMessage } from '../../../src/core/events/port.js';
import { DEAD_LETTER_HEADERS, deadLetterTopic } from '../../../src/core/events/port.js';
import { eventually as pollUntil } from '../../helpers/fixtures.js';

export interface EventBusContractOptions {
  /** How long a test waits for deliveries (a real broker needs seconds to join groups). Default 2 000 ms. */
  timeoutMs?: number;
  /** Put before every topic name, so a run's topics can be found and removed afterwards. Default ''. */
  topicPrefix?: string;
}

export function eventBusContract(
  name: string,
  open: () => Promise<EventBus>,
  options: EventBusContractOptions = {},
) {
  const eventually = (check: () => unknown) => pollUntil(check, options.timeoutMs ?? 2_000);
  describe(`EventBus contract: ${name}`, () => {
    const withBus = (test: (bus: EventBus, topic: (name: string) => string) => Promise<void>) => async () => {
      const bus = await open();
      const suffix = Math.random().toString(36).slice(2, 8);
      try {
        await test(bus, (topicName) => `${options.topicPrefix ?? ''}${topicName}.${suffix}`);
      } finally {
        await bus.close();
      }
    };

    it(
      'delivers a published message with its key, value, headers and first attempt',
      withBus(async (bus, topic) => {
        const seen: EventMessage<{ videoId: string }>[] = [];
        await bus.subscribe<{ videoId: string }>({
          topics: [topic('video.stored')],
          group: 'ingest',
          handler: async (m) => void seen.push(m),
        });
        await bus.publish(topic('video.stored'), [
          { key: 'v1', value: { videoId: 'v1' }, headers: { tenant: 't1' } },
        ]);
        await eventually(() => seen.length === 1);
        expect(seen[0]).toMatchObject({
          key: 'v1',
          value: { videoId: 'v1' },
          headers: { tenant: 't1' },
          attempt: 1,
          topic: topic('video.stored'),
        });
      }),
    );

    it(
      'gives every consumer group every message, and splits work among members of one group',
      withBus(async (bus, topic) => {
        const byGroup: Record<string, string[]> = { a: [], b: [] };
        const byMember: Record<string, string[]> = { a1: [], a2: [] };
        for (const [member, group] of [
          ['a1', 'a'],
          ['a2', 'a'],
          ['b1', 'b'],
        ] as const) {
          await bus.subscribe<string>({
            topics: [topic('t')],
            group,
            handler: async (m) => {
              byGroup[group]!.push(m.value);
              if (group === 'a') byMember[member]!.push(m.value);
            },
          });
        }
        const values = Array.from({ length: 40 }, (_, i) => `m${i}`);
        await bus.publish(
          topic('t'),
          values.map((value) => ({ key: value, value })),
        );
        await eventually(() => byGroup.a!.length === 40 && byGroup.b!.length === 40);
        expect([...byGroup.a!].sort()).toEqual([...values].sort());
        expect([...byGroup.b!].sort()).toEqual([...values].sort());
        expect(byMember.a1!.length).toBeGreaterThan(0);
        expect(byMember.a2!.length).toBeGreaterThan(0);
      }),
    );

    it(
      'keeps order per key',
      withBus(async (bus, topic) => {
        const seen: number[] = [];
        await bus.subscribe<number>({
          topics: [topic('t')],
          group: 'g',
          handler: async (m) => void seen.push(m.value),
        });
        await bus.publish(
          topic('t'),
          Array.from({ length: 30 }, (_, i) => ({ key: 'same-video', value: i })),
        );
        await eventually(() => seen.length === 30);
        expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => i));
      }),
    );

    it(
      'redelivers a message whose handler failed (at-least-once), with a higher attempt number',
      withBus(async (bus, topic) => {
        const attempts: number[] = [];
        await bus.subscribe({
          topics: [topic('t')],
          group: 'g',
          retryDelayMs: 5,
          handler: async (m) => {
            attempts.push(m.attempt);
            if (m.attempt < 3) throw new HbiError('UNAVAILABLE', 'database blip');
          },
        });
        await bus.publish(topic('t'), [{ key: 'k', value: 1 }]);
        await eventually(() => attempts.length === 3);
        expect(attempts).toEqual([1, 2, 3]);
      }),
    );

    it(
      'dead-letters a non-retriable failure at once, with the reason in headers, and moves on',
      withBus(async (bus, topic) => {
        const dead: EventMessage[] = [];
        const handled: number[] = [];
        await bus.subscribe({
          topics: [deadLetterTopic(topic('t'))],
          group: 'ops',
          handler: async (m) => void dead.push(m),
        });
        await bus.subscribe<number>({
          topics: [topic('t')],
          group: 'g',
          handler: async (m) => {
            if (m.value === 1) throw new HbiError('VIDEO_UNREADABLE', 'corrupt MP4');
            handled.push(m.value);
          },
        });
        await bus.publish(
          topic('t'),
          [1, 2].map((value) => ({ key: 'same', value })),
        );
        await eventually(() => dead.length === 1 && handled.length === 1);
        expect(dead[0]!.value).toBe(1);
        expect(dead[0]!.headers).toMatchObject({
          [DEAD_LETTER_HEADERS.topic]: topic('t'),
          [DEAD_LETTER_HEADERS.errorCode]: 'VIDEO_UNREADABLE',
          [DEAD_LETTER_HEADERS.errorMessage]: 'corrupt MP4',
          [DEAD_LETTER_HEADERS.attempts]: '1',
        });
        expect(handled).toEqual([2]);
      }),
    );

    it(
      'lists dead letters newest first, with the reason and the original headers',
      withBus(async (bus, topic) => {
        expect(bus.listDeadLetters).toBeTypeOf('function');
        expect(await bus.listDeadLetters!(topic('t'))).toEqual([]);
        const handled: number[] = [];
        await bus.subscribe<number>({
          topics: [topic('t')],
          group: 'g',
          handler: async (m) => {
            handled.push(m.value);
            if (m.value < 3) throw new HbiError('VIDEO_UNREADABLE', `bad ${m.value}`);
          },
        });
        for (const value of [1, 2, 3]) {
          await bus.publish(topic('t'), [{ key: 'v', value, headers: { tenant: 't1' } }]);
          await eventually(() => handled.length === value);
          await new Promise((resolve) => setTimeout(resolve, 5)); // distinct timestamps
        }
        let letters: Awaited<ReturnType<NonNullable<EventBus['listDeadLetters']>>> = [];
        await eventually(async () => (letters = await bus.listDeadLetters!(topic('t'))).length === 2);
        expect(letters.map((letter) => letter.value)).toEqual([2, 1]);
        expect(letters[0]).toMatchObject({
          topic: topic('t'),
          key: 'v',
          headers: { tenant: 't1' },
          errorCode: 'VIDEO_UNREADABLE',
          errorMessage: 'bad 2',
          attempts: 1,
        });
        expect(letters[0]!.deadLetteredAt).toBeGreaterThan(0);
        expect(await bus.listDeadLetters!(topic('t'), { limit: 1 })).toHaveLength(1);
      }),
    );

    it(
      'dead-letters a retriable failure after maxAttempts',
      withBus(async (bus, topic) => {
        const dead: EventMessage[] = [];
        let attempts = 0;
        await bus.subscribe({
          topics: [deadLetterTopic(topic('t'))],
          group: 'ops',
          handler: async (m) => void dead.push(m),
        });
        await bus.subscribe({
          topics: [topic('t')],
          group: 'g',
          maxAttempts: 2,
          retryDelayMs: 5,
          handler: async () => {
            attempts++;
            throw new Error('still broken');
          },
        });
        await bus.publish(topic('t'), [{ key: 'k', value: 'x' }]);
        await eventually(() => dead.length === 1);
        expect(attempts).toBe(2);
        expect(dead[0]!.headers[DEAD_LETTER_HEADERS.errorCode]).toBe('INTERNAL');
      }),
    );

    it(
      'hands a stopped member’s partitions to the rest of its group without losing messages',
      withBus(async (bus, topic) => {
        const seen: string[] = [];
        const first = await bus.subscribe<string>({
          topics: [topic('t')],
          group: 'g',
          handler: async (m) => void seen.push(m.value),
        });
        await bus.publish(topic('t'), [{ key: 'a', value: 'before' }]);
        await eventually(() => seen.length === 1);
        await first.stop();
        await bus.publish(topic('t'), [{ key: 'a', value: 'while-away' }]);
        await bus.subscribe<string>({
          topics: [topic('t')],
          group: 'g',
          handler: async (m) => void seen.push(m.value),
        });
        await eventually(() => seen.length === 2);
        expect(seen).toEqual(['before', 'while-away']);
      }),
    );

    it(
      'lets a new group read messages published before it existed (fromBeginning, the default)',
      withBus(async (bus, topic) => {
        await bus.publish(topic('t'), [{ key: 'k', value: 'old' }]);
        const seen: string[] = [];
        await bus.subscribe<string>({
          topics: [topic('t')],
          group: 'late',
          handler: async (m) => void seen.push(m.value),
        });
        await eventually(() => seen.length === 1);
        const latest: string[] = [];
        await bus.subscribe<string>({
          topics: [topic('t')],
          group: 'tail',
          fromBeginning: false,
          handler: async (m) => void latest.push(m.value),
        });
        await new Promise((resolve) => setTimeout(resolve, 50));
        await bus.publish(topic('t'), [{ key: 'k', value: 'new' }]);
        await eventually(() => latest.length === 1);
        expect(latest).toEqual(['new']);
      }),
    );

    it(
      'serialises values: a handler never shares objects with the publisher',
      withBus(async (bus, topic) => {
        const original = { nested: { count: 1 } };
        let received: typeof original | undefined;
        await bus.subscribe<typeof original>({
          topics: [topic('t')],
          group: 'g',
          handler: async (m) => void (received = m.value),
        });
        await bus.publish(topic('t'), [{ key: 'k', value: original }]);
        original.nested.count = 2;
        await eventually(() => received !== undefined);
        expect(received).toEqual({ nested: { count: 1 } });
      }),
    );
  });
}
