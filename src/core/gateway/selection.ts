/**
 * What a GraphQL operation asks for below a field: lets a resolver skip work whose result nobody
 * selected (a search's media URLs, say). Follows fragment spreads and inline fragments; a field that
 * only a skipped or excluded branch names still counts (no directive evaluation): an over-estimate costs
 * a lookup, never a missing value.
 */
import type { GraphQLResolveInfo, SelectionSetNode } from 'graphql';
import { Kind } from 'graphql';

/** Whether any field named in `names` is selected anywhere below the field being resolved. */
export function selectsAnyField(info: GraphQLResolveInfo, names: readonly string[]): boolean {
  const wanted = new Set(names);
  const seenFragments = new Set<string>();
  const visit = (set: SelectionSetNode | undefined): boolean => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        if (wanted.has(selection.name.value) || visit(selection.selectionSet)) return true;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (visit(selection.selectionSet)) return true;
      } else {
        const name = selection.name.value;
        if (seenFragments.has(name)) continue;
        seenFragments.add(name);
        if (visit(info.fragments[name]?.selectionSet)) return true;
      }
    }
    return false;
  };
  return info.fieldNodes.some((node) => visit(node.selectionSet));
}
