import { useState } from 'react';
import type { FormEvent } from 'react';

import type { ApiError } from '../api.js';
import { request } from '../api.js';
import { ErrorBox, asApiError, useLoad, useSession } from '../components.js';
import { when } from '../format.js';
import { graphql } from '../graphql.js';

const KeysQuery = graphql(`
  query ApiKeys {
    apiKeys {
      id
      name
      prefix
      role
      createdAt
      lastUsedAt
      expiresAt
      revokedAt
    }
  }
`);

const CreateKey = graphql(`
  mutation CreateKey($name: String!, $role: Role!) {
    createApiKey(name: $name, role: $role) {
      token
      key {
        id
      }
    }
  }
`);

const RevokeKey = graphql(`
  mutation RevokeKey($id: ID!) {
    revokeApiKey(id: $id) {
      id
      revokedAt
    }
  }
`);

type Role = 'READ' | 'WRITE' | 'ADMIN';

export function KeysPage() {
  const { key } = useSession();
  const keys = useLoad(() => request(key, KeysQuery, {}), [key]);
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('READ');
  const [created, setCreated] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const { reload } = keys;

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const { createApiKey } = await request(key, CreateKey, { name, role });
      setCreated(createApiKey.token);
      setName('');
      reload();
    } catch (failure) {
      setError(asApiError(failure));
    }
  };
  const revoke = async (id: string) => {
    setError(null);
    try {
      await request(key, RevokeKey, { id });
      reload();
    } catch (failure) {
      setError(asApiError(failure));
    }
  };

  return (
    <section>
      <h1>API keys</h1>
      <form className="toolbar" onSubmit={(event) => void create(event)}>
        <label htmlFor="key-name">Name</label>
        <input
          id="key-name"
          required
          value={name}
          onChange={(event) => setName(event.target.value)}
          placeholder="camera 3"
        />
        <label htmlFor="key-role">Role</label>
        <select id="key-role" value={role} onChange={(event) => setRole(event.target.value as Role)}>
          <option value="READ">read</option>
          <option value="WRITE">write</option>
          <option value="ADMIN">admin</option>
        </select>
        <button type="submit">Create key</button>
      </form>
      {created ? (
        <div className="notice" role="status">
          <p>New key (copy it now; it is never shown again):</p>
          <code className="token" data-testid="new-token">
            {created}
          </code>
        </div>
      ) : null}
      <ErrorBox error={error ?? keys.error} onRetry={reload} />
      <div className="table-wrap" tabIndex={0} role="region" aria-label="Keys table">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Key</th>
              <th scope="col">Role</th>
              <th scope="col">Last used</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {keys.value?.apiKeys.map((apiKey) => (
              <tr key={apiKey.id}>
                <td>{apiKey.name}</td>
                <td>
                  <code>{apiKey.prefix}…</code>
                </td>
                <td>{apiKey.role.toLowerCase()}</td>
                <td>{when(apiKey.lastUsedAt)}</td>
                <td>
                  {apiKey.revokedAt ? (
                    `revoked ${when(apiKey.revokedAt)}`
                  ) : (
                    <button
                      type="button"
                      className="danger"
                      onClick={() => void revoke(apiKey.id)}
                      aria-label={`Revoke ${apiKey.name}`}
                    >
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
