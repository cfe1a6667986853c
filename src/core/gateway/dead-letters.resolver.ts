/**
 * `deadLetters(topic)`: the messages a consumer gave up on (a non-retriable failure, or a retriable
 * one out of attempts), newest first, with the reason, so operators see what was not processed and
 * can act (fix the cause, then re-submit). Topics are the platform's own event topics, plus the
 * bucket-notification topic when one is configured; anything else is BAD_USER_INPUT listing them.
 * Entries are redacted (`util/redact.ts`) on the way out, whichever bus kept them: the key, every string
 * of the value and the error message show no server paths, URL credentials or secret parameters.
 */
import { GraphQLDateTime, GraphQLJSONObject } from 'graphql-scalars';
import { Arg, Ctx, Field, Int, ObjectType, Query, Resolver } from 'type-graphql';

import { Policy } from '../auth/policy.js';

import { HbiError } from '../errors.js';
import type { DeadLetter as DeadLetterRecord } from '../events/port.js';
import { redact, redactValue } from '../util/redact.js';
import type { GatewayContext } from './context.js';

/** Most dead letters one query returns. */
const MAX_DEAD_LETTERS = 100;

@ObjectType({ description: 'A message a consumer gave up on, moved to its topic’s dead-letter topic.' })
export class DeadLetter {
  @Field({ description: 'The topic it was consumed from.' })
  topic!: string;

  @Field(() => Int)
  partition!: number;

  @Field({ description: 'Its offset there (a decimal string: Kafka offsets exceed 2^53).' })
  offset!: string;

  @Field({ description: 'The message key (a job or video id for the platform’s topics).' })
  key!: string;

  @Field(() => GraphQLJSONObject, {
    nullable: true,
    description:
      'The message value when it is a JSON object (null for anything else, e.g. unreadable bytes).',
  })
  value!: Record<string, unknown> | null;

  @Field({ description: 'The error code of the last failure (INTERNAL for unexpected errors).' })
  errorCode!: string;

  @Field({ description: 'Why it failed (server paths, URL credentials and secret parameters redacted).' })
  errorMessage!: string;

  @Field(() => Int, { description: 'Deliveries made before it was given up.' })
  attempts!: number;

  @Field(() => GraphQLDateTime)
  deadLetteredAt!: Date;
}

/** The client's view of one dead letter: redacted, whatever the message and the error said. */
export function toDeadLetter(record: DeadLetterRecord): DeadLetter {
  const value = record.value;
  return Object.assign(new DeadLetter(), {
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    key: redact(record.key),
    value:
      value !== null && typeof value === 'object' && !Array.isArray(value)
        ? (redactValue(value) as Record<string, unknown>)
        : null,
    errorCode: record.errorCode,
    errorMessage: redact(record.errorMessage),
    attempts: record.attempts,
    deadLetteredAt: new Date(record.deadLetteredAt),
  });
}

@Resolver()
export class DeadLetterResolver {
  @Policy('admin')
  @Query(() => [DeadLetter], {
    description:
      'Messages of one event topic that could not be processed, newest first (operators: see the reason, fix, re-submit).',
  })
  async deadLetters(
    @Arg('topic', {
      description: 'An event topic, e.g. "job.queued"; an unknown one is refused with the list.',
    })
    topic: string,
    @Arg('first', () => Int, {
      nullable: true,
      description: `At most this many (≤ ${MAX_DEAD_LETTERS}); 20 when omitted.`,
    })
    first: number | null | undefined,
    @Ctx() { services }: GatewayContext,
  ): Promise<DeadLetter[]> {
    const deadLetters = services.deadLetters;
    if (!deadLetters) {
      throw new HbiError('UNAVAILABLE', 'This event bus keeps no dead letters', { retriable: false });
    }
    if (!deadLetters.topics.includes(topic)) {
      throw new HbiError(
        'BAD_USER_INPUT',
        `Unknown topic "${topic}": dead letters are kept for ${deadLetters.topics.join(', ')}`,
        { details: { topic, topics: [...deadLetters.topics] } },
      );
    }
    const limit = first ?? 20;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_DEAD_LETTERS) {
      throw new HbiError('BAD_USER_INPUT', `first must be between 1 and ${MAX_DEAD_LETTERS}`);
    }
    return (await deadLetters.list(topic, limit)).map(toDeadLetter);
  }
}
