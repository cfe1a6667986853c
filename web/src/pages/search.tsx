import { useState } from 'react';
import type { FormEvent } from 'react';

import { request } from '../api.js';
import { ErrorBox, Thumbnail, asApiError, useLoad, useSession } from '../components.js';
import type { ApiError } from '../api.js';
import { clock } from '../format.js';
import type { ResultOf } from '../graphql.js';
import { graphql } from '../graphql.js';
import { HitMedia, thumbnailOf } from '../media.js';
import { HitPanel } from './hit-panel.js';

const SearchQuery = graphql(
  `
    query Search($text: String!, $first: Int!, $filters: SearchFilters) {
      search(text: $text, first: $first, filters: $filters) {
        totalCount
        model
        warnings {
          code
          message
        }
        edges {
          node {
            segmentId
            videoId
            videoTitle
            cameraId
            startMs
            endMs
            score
            rank
            ...HitMedia
          }
        }
      }
    }
  `,
  [HitMedia],
);

const CameraNames = graphql(`
  query CameraNames {
    cameras(first: 100) {
      edges {
        node {
          id
          name
        }
      }
    }
  }
`);

export type Hit = ResultOf<typeof SearchQuery>['search']['edges'][number]['node'];

/** A `datetime-local` value (local time, no zone) as an ISO instant, or undefined when empty. */
function instant(local: string): string | undefined {
  return local === '' ? undefined : new Date(local).toISOString();
}

export function SearchPage() {
  const { key } = useSession();
  const cameras = useLoad(() => request(key, CameraNames, {}), [key]);
  const [text, setText] = useState('');
  const [cameraId, setCameraId] = useState('');
  const [after, setAfter] = useState('');
  const [before, setBefore] = useState('');
  const [result, setResult] = useState<ResultOf<typeof SearchQuery>['search'] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [selected, setSelected] = useState<Hit | null>(null);

  const run = async () => {
    setBusy(true);
    setError(null);
    setSelected(null);
    const filters = {
      ...(cameraId ? { cameraIds: [cameraId] } : {}),
      ...(instant(after) ? { recordedAfter: instant(after) } : {}),
      ...(instant(before) ? { recordedBefore: instant(before) } : {}),
    };
    try {
      const data = await request(key, SearchQuery, { text, first: 24, filters });
      setResult(data.search);
    } catch (failure) {
      setError(asApiError(failure));
    } finally {
      setBusy(false);
    }
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run();
  };
  const cameraName = (id: string | null) =>
    cameras.value?.cameras.edges.find((edge) => edge.node.id === id)?.node.name;

  return (
    <section>
      <h1>Search</h1>
      <form className="search-form" onSubmit={submit} role="search">
        <label htmlFor="search-text">What happens in the video</label>
        <input
          id="search-text"
          type="search"
          required
          value={text}
          onChange={(event) => setText(event.target.value)}
          placeholder="a red circle moves left"
        />
        <div className="filters">
          <div>
            <label htmlFor="search-camera">Camera</label>
            <select id="search-camera" value={cameraId} onChange={(event) => setCameraId(event.target.value)}>
              <option value="">All videos</option>
              {cameras.value?.cameras.edges.map(({ node }) => (
                <option key={node.id} value={node.id}>
                  {node.name}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="search-after">Recorded after</label>
            <input
              id="search-after"
              type="datetime-local"
              value={after}
              onChange={(event) => setAfter(event.target.value)}
            />
          </div>
          <div>
            <label htmlFor="search-before">Recorded before</label>
            <input
              id="search-before"
              type="datetime-local"
              value={before}
              onChange={(event) => setBefore(event.target.value)}
            />
          </div>
        </div>
        <button type="submit" disabled={busy || text.trim() === ''}>
          {busy ? 'Searching…' : 'Search'}
        </button>
      </form>
      <ErrorBox error={error ?? cameras.error} onRetry={error ? () => void run() : cameras.reload} />
      <div className={selected ? 'results with-panel' : 'results'}>
        {result ? (
          <div className="result-list">
            <p className="summary" aria-live="polite">
              {result.totalCount} {result.totalCount === 1 ? 'match' : 'matches'} · model {result.model}
            </p>
            {result.warnings.map((warning) => (
              <p className="warning" key={warning.code}>
                {warning.message}
              </p>
            ))}
            <ol className="grid" aria-label="Search results">
              {result.edges.map(({ node: hit }) => (
                <li key={hit.segmentId}>
                  <button
                    type="button"
                    className="hit"
                    aria-pressed={selected?.segmentId === hit.segmentId}
                    onClick={() => setSelected(hit)}
                    data-testid="hit"
                    data-start-ms={hit.startMs}
                    data-title={hit.videoTitle ?? ''}
                  >
                    <Thumbnail
                      url={thumbnailOf(hit)}
                      label={`${hit.videoTitle ?? 'video'} at ${clock(hit.startMs)}`}
                    />
                    <span className="hit-title">{hit.videoTitle ?? hit.videoId}</span>
                    <span className="hit-meta">
                      #{hit.rank} · score {hit.score.toFixed(3)} · {clock(hit.startMs)}–{clock(hit.endMs)}
                      {hit.cameraId ? ` · ${cameraName(hit.cameraId) ?? 'camera'}` : ''}
                    </span>
                  </button>
                </li>
              ))}
            </ol>
          </div>
        ) : null}
        {selected ? <HitPanel hit={selected} onClose={() => setSelected(null)} /> : null}
      </div>
    </section>
  );
}
