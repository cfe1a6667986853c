/**
 * Relay connections shared by every paged field (core lookups and plugins alike): the one `PageInfo`
 * type, a factory for `<Node>Connection` / `<Node>Edge` types, page-size checks, and opaque keyset
 * cursors. Keyset (not offset) cursors keep pages stable while new rows arrive.
 */
import type { ClassType } from 'type-graphql';
import { Field, Int, ObjectType } from 'type-graphql';

import { HbiError } from '../errors.js';

@ObjectType({ description: 'Relay page information.' })
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => Boolean)
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true })
  startCursor!: string | null;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

/** A connection as resolvers build it; the GraphQL classes made by `Connection` have this shape. */
export interface ConnectionValue<TNode> {
  edges: { cursor: string; node: TNode }[];
  pageInfo: PageInfo;
  totalCount: number;
}

/**
 * The base class of a `<Node>Connection` type; its edge type is registered as `edgeName`. Extend it
 * with `@ObjectType()` to name the connection: `class VideoConnection extends Connection(Video, 'VideoEdge') {}`.
 */
export function Connection<TNode extends object>(node: ClassType<TNode>, edgeName: string) {
  @ObjectType(edgeName)
  class Edge {
    @Field(() => String)
    cursor!: string;

    @Field(() => node)
    node!: TNode;
  }

  // Registered so subclasses inherit its fields; type-graphql emits only referenced types, so the base
  // itself never appears in the schema.
  @ObjectType()
  abstract class ConnectionBase implements ConnectionValue<TNode> {
    @Field(() => [Edge])
    edges!: Edge[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    @Field(() => Int, { description: 'Items in the whole list, not only this page.' })
    totalCount!: number;
  }
  return ConnectionBase;
}

/** Page size when a client gives no `first`: this, or the server's page limit when that is smaller. */
export const DEFAULT_PAGE_SIZE = 20;

/**
 * The page size to use: `first` when given (LIMIT_EXCEEDED outside 1…max), else the default capped at
 * the server's limit, so a client that never says `first` works under any configured limit.
 */
export function checkPageSize(first: number | null | undefined, maxPageSize: number): number {
  if (first === null || first === undefined) return Math.min(DEFAULT_PAGE_SIZE, maxPageSize);
  if (!Number.isInteger(first) || first < 1 || first > maxPageSize) {
    throw new HbiError('LIMIT_EXCEEDED', `first must be between 1 and ${maxPageSize}`, {
      details: { first, limit: maxPageSize },
    });
  }
  return first;
}

/** An opaque cursor: `kind` names the list it belongs to, `parts` the sort key of the row. */
export function encodeCursor(kind: string, parts: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify([kind, ...parts])).toString('base64url');
}

/** The sort key inside a cursor of `kind`; BAD_USER_INPUT when it is not one of that list's cursors. */
export function decodeCursor(kind: string, cursor: string, arity: number): (string | number)[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) ||
    parsed[0] !== kind ||
    parsed.length !== arity + 1 ||
    !parsed.slice(1).every((part) => typeof part === 'string' || typeof part === 'number')
  ) {
    throw new HbiError('BAD_USER_INPUT', `Invalid cursor ${JSON.stringify(cursor)}`, { details: { cursor } });
  }
  return parsed.slice(1) as (string | number)[];
}

/**
 * Builds a page from rows fetched with `LIMIT first + 1` after the cursor: the extra row only says
 * that another page exists.
 */
export function toConnection<TRow, TNode>(
  rows: readonly TRow[],
  options: {
    first: number;
    after: string | null | undefined;
    totalCount: number;
    cursor: (row: TRow) => string;
    node: (row: TRow) => TNode;
  },
): ConnectionValue<TNode> {
  const page = rows.slice(0, options.first);
  const edges = page.map((row) => ({ cursor: options.cursor(row), node: options.node(row) }));
  return {
    edges,
    pageInfo: Object.assign(new PageInfo(), {
      hasNextPage: rows.length > options.first,
      hasPreviousPage: options.after !== null && options.after !== undefined,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    }),
    totalCount: options.totalCount,
  };
}
