import { useState } from 'react';
import type { FormEvent } from 'react';

import type { ApiError } from '../api.js';
import { ErrorBox } from '../components.js';

/** The first page: paste an API key; it is checked against the server before it is kept. */
export function SignIn({ onKey, error }: { onKey: (key: string) => Promise<void>; error: ApiError | null }) {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    void onKey(key.trim()).finally(() => setBusy(false));
  };
  return (
    <main className="sign-in">
      <h1>hbi console</h1>
      <p>
        Sign in with an API key. The first start wrote an admin key beside the data (data/admin-key); an admin
        creates more on the Keys page or with <code>hbi keys create</code>.
      </p>
      <form onSubmit={submit}>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="key"
          type="password"
          autoComplete="off"
          required
          value={key}
          onChange={(event) => setKey(event.target.value)}
          placeholder="hbik_…"
        />
        <button type="submit" disabled={busy || key.trim() === ''}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
      <ErrorBox error={error} />
      <p className="hint">
        The key stays in this browser tab only (session storage) and is sent to this server alone.
      </p>
    </main>
  );
}
