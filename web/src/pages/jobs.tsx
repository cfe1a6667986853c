import { useEffect, useState } from 'react';

import { request } from '../api.js';
import { ErrorBox, useLoad, useSession } from '../components.js';
import { percent, when } from '../format.js';
import { graphql } from '../graphql.js';

const JobsQuery = graphql(`
  query Jobs($status: JobStatus) {
    jobs(first: 100, status: $status) {
      totalCount
      edges {
        node {
          id
          kind
          status
          progress
          doneSteps
          totalSteps
          attempts
          createdAt
          finishedAt
          error {
            code
            message
          }
          video {
            id
            title
          }
        }
      }
    }
  }
`);

const STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
type Status = (typeof STATUSES)[number];

export function JobsPage() {
  const { key } = useSession();
  const [status, setStatus] = useState<Status | ''>('');
  const jobs = useLoad(
    () => request(key, JobsQuery, { status: status === '' ? null : status }),
    [key, status],
  );
  const { reload } = jobs;
  const active =
    jobs.value?.jobs.edges.some(({ node }) => node.status === 'QUEUED' || node.status === 'RUNNING') ?? false;
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(reload, 2000);
    return () => clearInterval(timer);
  }, [active, reload]);

  return (
    <section>
      <h1>Jobs</h1>
      <div className="toolbar">
        <label htmlFor="job-status">Status</label>
        <select
          id="job-status"
          value={status}
          onChange={(event) => setStatus(event.target.value as Status | '')}
        >
          <option value="">All</option>
          {STATUSES.map((value) => (
            <option key={value} value={value}>
              {value.toLowerCase()}
            </option>
          ))}
        </select>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </div>
      <ErrorBox error={jobs.error} onRetry={reload} />
      <div className="table-wrap" tabIndex={0} role="region" aria-label="Jobs table">
        <table>
          <thead>
            <tr>
              <th scope="col">Kind</th>
              <th scope="col">Video</th>
              <th scope="col">Status</th>
              <th scope="col">Progress</th>
              <th scope="col">Created</th>
              <th scope="col">Finished</th>
            </tr>
          </thead>
          <tbody>
            {jobs.value?.jobs.edges.map(({ node: job }) => (
              <tr key={job.id}>
                <td>{job.kind.toLowerCase()}</td>
                <td>{job.video?.title ?? job.video?.id.slice(0, 8) ?? '—'}</td>
                <td>
                  <span className={`status status-${job.status.toLowerCase()}`}>
                    {job.status.toLowerCase()}
                  </span>
                  {job.error ? (
                    <span className="error-inline">
                      {job.error.message} ({job.error.code})
                    </span>
                  ) : null}
                </td>
                <td>
                  {percent(job.progress)}
                  {job.totalSteps !== null ? ` (${job.doneSteps}/${job.totalSteps})` : ''}
                </td>
                <td>{when(job.createdAt)}</td>
                <td>{when(job.finishedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {jobs.value?.jobs.totalCount === 0 ? <p>No jobs.</p> : null}
    </section>
  );
}
