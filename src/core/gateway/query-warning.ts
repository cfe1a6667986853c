/**
 * Warnings about how a client's text was read (unknown words, a cut tail), shared by every plugin that
 * takes text (search, rankTexts, answer): the request still succeeds and says what the model saw.
 */
import { Field, ObjectType, registerEnumType } from 'type-graphql';

/** Why a response carries a warning. */
export enum QueryWarningCode {
  /** Words the model's vocabulary lacks; they were encoded as the unknown token. */
  UNKNOWN_WORDS = 'UNKNOWN_WORDS',
  /** The text was longer than the model reads; its tail was ignored. */
  TEXT_TRUNCATED = 'TEXT_TRUNCATED',
}
registerEnumType(QueryWarningCode, {
  name: 'QueryWarningCode',
  description: 'Why a response carries a warning.',
});

@ObjectType({
  description: 'Something the client should know about how its text was read; the request still succeeded.',
})
export class QueryWarning {
  @Field(() => QueryWarningCode)
  code!: QueryWarningCode;

  @Field(() => String)
  message!: string;

  @Field(() => [String], { description: 'The words concerned (for UNKNOWN_WORDS).' })
  words!: string[];
}

/** What tokenising a text found, as tasks report it (plain JSON). */
export interface TextReading {
  unknownWords: readonly string[];
  truncated: boolean;
}

/** The warnings for one text: its unknown words, then whether its tail was cut. */
export function textWarnings(reading: TextReading): QueryWarning[] {
  const warnings: QueryWarning[] = [];
  const words = [...reading.unknownWords];
  if (words.length > 0) {
    warnings.push(
      Object.assign(new QueryWarning(), {
        code: QueryWarningCode.UNKNOWN_WORDS,
        message: `The model does not know ${words.length === 1 ? 'this word' : 'these words'}: ${words.join(', ')}; they were read as unknown`,
        words,
      }),
    );
  }
  if (reading.truncated) {
    warnings.push(
      Object.assign(new QueryWarning(), {
        code: QueryWarningCode.TEXT_TRUNCATED,
        message: 'The text is longer than the model reads; only its beginning was used',
        words: [],
      }),
    );
  }
  return warnings;
}
