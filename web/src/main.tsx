// The console's shell: sign-in, the signed-in session (key + role from `viewer`), navigation, pages.
import { StrictMode, useCallback, useEffect, useMemo, useState } from 'react';
import type { MouseEvent, ReactNode } from 'react';
import { createRoot } from 'react-dom/client';

import type { ApiError } from './api.js';
import { closeSubscriptions, request } from './api.js';
import type { Role, Session } from './components.js';
import { SessionContext, asApiError, canWrite } from './components.js';
import { graphql } from './graphql.js';
import { AuditPage } from './pages/audit.js';
import { CamerasPage } from './pages/cameras.js';
import { JobsPage } from './pages/jobs.js';
import { KeysPage } from './pages/keys.js';
import { LibraryPage } from './pages/library.js';
import { SearchPage } from './pages/search.js';
import { SignIn } from './pages/sign-in.js';
import { UploadPage } from './pages/upload.js';
import { navigate, usePath } from './router.js';
import { forgetKey, storeKey, storedKey } from './session.js';
import './styles.css';

const ViewerQuery = graphql(`
  query Viewer {
    viewer {
      id
      role
      tenantId
    }
  }
`);

interface Page {
  path: string;
  label: string;
  /** Who sees it in the navigation (and may open it). */
  allowed(role: Role): boolean;
  render(): ReactNode;
}

const PAGES: readonly Page[] = [
  { path: '/search', label: 'Search', allowed: () => true, render: () => <SearchPage /> },
  { path: '/library', label: 'Library', allowed: () => true, render: () => <LibraryPage /> },
  { path: '/upload', label: 'Upload', allowed: canWrite, render: () => <UploadPage /> },
  { path: '/jobs', label: 'Jobs', allowed: () => true, render: () => <JobsPage /> },
  { path: '/cameras', label: 'Cameras', allowed: () => true, render: () => <CamerasPage /> },
  { path: '/keys', label: 'Keys', allowed: (role) => role === 'ADMIN', render: () => <KeysPage /> },
  { path: '/audit', label: 'Audit log', allowed: (role) => role === 'ADMIN', render: () => <AuditPage /> },
];

function Link({ to, children, current }: { to: string; children: ReactNode; current: boolean }) {
  const follow = (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} onClick={follow} aria-current={current ? 'page' : undefined}>
      {children}
    </a>
  );
}

function App() {
  const [session, setSession] = useState<Omit<Session, 'signOut'> | null>(null);
  const [checking, setChecking] = useState(() => storedKey() !== null);
  const [error, setError] = useState<ApiError | null>(null);
  const path = usePath();

  const signIn = useCallback(async (key: string) => {
    try {
      const { viewer } = await request(key, ViewerQuery, {});
      storeKey(key);
      setError(null);
      setSession({ key, role: viewer.role, tenantId: viewer.tenantId });
    } catch (failure) {
      forgetKey();
      setError(asApiError(failure));
    } finally {
      setChecking(false);
    }
  }, []);
  useEffect(() => {
    const key = storedKey();
    if (key !== null) void signIn(key);
  }, [signIn]);
  const signOut = useCallback(() => {
    forgetKey();
    closeSubscriptions();
    setSession(null);
  }, []);
  const value = useMemo(() => (session ? { ...session, signOut } : null), [session, signOut]);

  if (checking) return <main aria-busy="true">Signing in…</main>;
  if (!value) return <SignIn onKey={signIn} error={error} />;
  const visible = PAGES.filter((page) => page.allowed(value.role));
  const current = path === '/' ? visible[0] : PAGES.find((page) => page.path === path);
  return (
    <SessionContext.Provider value={value}>
      <header className="top">
        <span className="brand">hbi</span>
        <nav aria-label="Pages">
          {visible.map((page) => (
            <Link key={page.path} to={page.path} current={page === current}>
              {page.label}
            </Link>
          ))}
          <a href="/graphql">GraphiQL</a>
        </nav>
        <span className="who">
          {value.role.toLowerCase()} key
          <button type="button" className="link" onClick={signOut}>
            Sign out
          </button>
        </span>
      </header>
      <main>
        {current === undefined ? (
          <NotFound path={path} />
        ) : current.allowed(value.role) ? (
          current.render()
        ) : (
          <section>
            <h1>{current.label}</h1>
            <p role="alert">
              Your key’s role ({value.role.toLowerCase()}) cannot open this page; sign in with a key of a
              higher role.
            </p>
          </section>
        )}
      </main>
    </SessionContext.Provider>
  );
}

function NotFound({ path }: { path: string }) {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is no page at <code>{path}</code>. Pick one from the menu above.
      </p>
    </section>
  );
}

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
