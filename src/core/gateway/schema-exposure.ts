/**
 * How much of the schema a client may learn (`HBI_INTROSPECTION`, off when NODE_ENV=production): with
 * it off, `__schema` / `__type` are refused and "Did you mean …" suggestions are cut from error
 * messages, over HTTP (Apollo's own switches plus `formatError`) and over graphql-ws (`onSubscribe`
 * validates with the same rule, `onNext` cuts suggestions alike). `__typename` stays: clients need it.
 */
import type { DocumentNode, GraphQLError, GraphQLSchema, ValidationRule } from 'graphql';
import { NoSchemaIntrospectionCustomRule, specifiedRules, validate } from 'graphql';

import type { Config } from '../config.js';

export type SchemaExposure = Pick<Config, 'introspection'>;

/** graphql-js's own suggestion text, at the end of a message (as Apollo's DisableSuggestions cuts it). */
const SUGGESTION = / ?Did you mean(.+?)\?$/;

/** The validation rules for an operation: the standard ones, plus no introspection when it is off. */
export function validationRules(exposure: SchemaExposure): readonly ValidationRule[] {
  return exposure.introspection ? specifiedRules : [...specifiedRules, NoSchemaIntrospectionCustomRule];
}

/** Validates `document` as the HTTP side does: the same rules, suggestions cut when introspection is off. */
export function validateOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  exposure: SchemaExposure,
): readonly GraphQLError[] {
  return hideSuggestions(validate(schema, document, validationRules(exposure)), exposure);
}

/** The errors with "Did you mean …" removed from their messages when introspection is off (in place). */
export function hideSuggestions<T extends { message: string }>(
  errors: readonly T[],
  exposure: SchemaExposure,
): readonly T[] {
  if (exposure.introspection) return errors;
  for (const error of errors) error.message = withoutSuggestion(error.message);
  return errors;
}

/** One formatted error with its suggestion removed when introspection is off (a copy). */
export function hideSuggestion<T extends { message: string }>(error: T, exposure: SchemaExposure): T {
  return exposure.introspection ? error : { ...error, message: withoutSuggestion(error.message) };
}

function withoutSuggestion(message: string): string {
  return message.replace(SUGGESTION, '');
}
