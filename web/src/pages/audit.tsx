import { request } from '../api.js';
import { ErrorBox, useLoad, useSession } from '../components.js';
import { when } from '../format.js';
import { graphql } from '../graphql.js';

const AuditQuery = graphql(`
  query AuditEvents {
    auditEvents(first: 200) {
      id
      at
      actor
      action
      target
      source
    }
  }
`);

export function AuditPage() {
  const { key } = useSession();
  const audit = useLoad(() => request(key, AuditQuery, {}), [key]);
  return (
    <section>
      <h1>Audit log</h1>
      <button type="button" onClick={audit.reload}>
        Refresh
      </button>
      <ErrorBox error={audit.error} onRetry={audit.reload} />
      <div className="table-wrap" tabIndex={0} role="region" aria-label="Audit events table">
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">What</th>
              <th scope="col">Target</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            {audit.value?.auditEvents.map((event) => (
              <tr key={event.id}>
                <td>{when(event.at)}</td>
                <td>{event.actor}</td>
                <td>{event.action}</td>
                <td>{event.target ?? '—'}</td>
                <td>{event.source ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {audit.value?.auditEvents.length === 0 ? <p>Nothing audited yet.</p> : null}
    </section>
  );
}
