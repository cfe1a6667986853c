// The console's session: the API key it signed in with, kept in sessionStorage (this tab only, gone
// when it closes). GraphiQL at /graphql reads the same entry.
export const SESSION_KEY = 'hbi.console.key';

export function storedKey(): string | null {
  return sessionStorage.getItem(SESSION_KEY);
}

export function storeKey(key: string): void {
  sessionStorage.setItem(SESSION_KEY, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(SESSION_KEY);
}
