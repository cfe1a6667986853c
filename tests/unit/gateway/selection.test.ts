import { describe, expect, it } from 'vitest';
import type { GraphQLResolveInfo } from 'graphql';
import { buildSchema, graphql } from 'graphql';

import { selectsAnyField } from '../../../src/core/gateway/selection.js';

const schema = buildSchema(`
  type Hit { id: ID! title: String thumbnailUrl: String playbackUrl: String }
  type Edge { node: Hit! }
  type Connection { edges: [Edge!]! }
  type Query { search: Connection! }
`);

/** Runs `query` and returns what selectsAnyField said inside the `search` resolver. */
async function answer(query: string, names: readonly string[] = ['thumbnailUrl', 'playbackUrl']) {
  let seen: boolean | undefined;
  const result = await graphql({
    schema,
    source: query,
    rootValue: {
      search: (_args: unknown, _context: unknown, info: GraphQLResolveInfo) => {
        seen = selectsAnyField(info, names);
        return { edges: [{ node: { id: '1', title: 't', thumbnailUrl: 'u', playbackUrl: 'p' } }] };
      },
    },
  });
  expect(result.errors).toBeUndefined();
  return seen;
}

describe('selectsAnyField', () => {
  it('is false when the operation asks for none of the fields', async () => {
    expect(await answer('{ search { edges { node { id title } } } }')).toBe(false);
  });

  it('finds a field nested below the resolved one', async () => {
    expect(await answer('{ search { edges { node { id thumbnailUrl } } } }')).toBe(true);
    expect(await answer('{ search { edges { node { playbackUrl } } } }')).toBe(true);
  });

  it('follows named fragments, nested fragments and inline fragments', async () => {
    expect(
      await answer(`
        query { search { edges { node { ...Card } } } }
        fragment Card on Hit { id ...Media }
        fragment Media on Hit { thumbnailUrl }`),
    ).toBe(true);
    expect(await answer('{ search { edges { node { ... on Hit { playbackUrl } } } } }')).toBe(true);
    expect(
      await answer(`
        query { search { edges { node { ...Card } } } }
        fragment Card on Hit { id title }`),
    ).toBe(false);
  });

  it('counts an aliased field by its name, not its alias', async () => {
    expect(await answer('{ search { edges { node { thumbnailUrl: title } } } }')).toBe(false);
    expect(await answer('{ search { edges { node { picture: thumbnailUrl } } } }')).toBe(true);
  });
});
