// Shared pieces: the error box (message + what to do), the session context, thumbnails, a load hook.
import { createContext, useCallback, useContext, useEffect, useState } from 'react';

import type { ApiError } from './api.js';
import { ApiError as ApiErrorClass } from './api.js';

export type Role = 'READ' | 'WRITE' | 'ADMIN';

export interface Session {
  key: string;
  role: Role;
  tenantId: string;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}

/** True when the role may change things (uploads, deletes, re-index, cameras). */
export function canWrite(role: Role): boolean {
  return role === 'WRITE' || role === 'ADMIN';
}

export function asApiError(error: unknown): ApiError {
  return error instanceof ApiErrorClass
    ? error
    : new ApiErrorClass('INTERNAL', (error as Error)?.message ?? String(error));
}

/** An error as the user should see it: what happened, its code, and what to do. */
export function ErrorBox({ error, onRetry }: { error: ApiError | null; onRetry?: () => void }) {
  if (!error) return null;
  return (
    <div className="error" role="alert">
      <p>
        <strong>{error.message}</strong> <code>{error.code}</code>
      </p>
      <p>{error.remedy}</p>
      {onRetry ? (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/** A thumbnail, or a placeholder when the server has none (yet). */
export function Thumbnail({ url, label }: { url: string | null | undefined; label: string }) {
  if (!url) {
    return (
      <div className="thumb placeholder" role="img" aria-label={`${label} (no thumbnail)`}>
        <span aria-hidden="true">▶</span>
      </div>
    );
  }
  return <img className="thumb" src={url} alt={label} loading="lazy" />;
}

/** Loads once (and on `reload`): the value, the error, and whether it is loading. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]) {
  const [state, setState] = useState<{ value: T | null; error: ApiError | null; loading: boolean }>({
    value: null,
    error: null,
    loading: true,
  });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    setState((previous) => ({ ...previous, loading: true }));
    load().then(
      (value) => live && setState({ value, error: null, loading: false }),
      (error: unknown) =>
        live && setState((previous) => ({ value: previous.value, error: asApiError(error), loading: false })),
    );
    return () => {
      live = false;
    };
  }, [...deps, round]);
  const reload = useCallback(() => setRound((value) => value + 1), []);
  return { ...state, reload };
}
