import { useEffect, useState } from 'react';

import type { ApiError } from '../api.js';
import { request, subscribe } from '../api.js';
import { ErrorBox, Thumbnail, useLoad, useSession } from '../components.js';
import { clock, when } from '../format.js';
import type { ResultOf } from '../graphql.js';
import { graphql } from '../graphql.js';
import { SegmentMedia, thumbnailOf } from '../media.js';

const CamerasQuery = graphql(`
  query Cameras {
    cameras(first: 100) {
      totalCount
      edges {
        node {
          id
          name
          status
          lastSeenAt
        }
      }
    }
  }
`);

const SegmentArrived = graphql(
  `
    subscription SegmentArrived {
      segmentIndexed {
        id
        startMs
        endMs
        createdAt
        video {
          id
          title
          cameraId
          capturedAt
        }
        ...SegmentMedia
      }
    }
  `,
  [SegmentMedia],
);

type Segment = ResultOf<typeof SegmentArrived>['segmentIndexed'];

/** Live segments kept on the page. */
const KEEP = 24;

export function CamerasPage() {
  const { key } = useSession();
  const cameras = useLoad(() => request(key, CamerasQuery, {}), [key]);
  const [live, setLive] = useState<Segment[]>([]);
  const [liveError, setLiveError] = useState<ApiError | null>(null);
  const { reload } = cameras;

  // Every newly searchable segment of a camera, as it arrives; the camera list refreshes with it.
  useEffect(
    () =>
      subscribe(
        key,
        SegmentArrived,
        {},
        {
          next: ({ segmentIndexed }) => {
            if (!segmentIndexed.video?.cameraId) return;
            setLive((all) => [segmentIndexed, ...all].slice(0, KEEP));
            reload();
          },
          error: setLiveError,
        },
      ),
    [key, reload],
  );
  const nameOf = (id: string | null | undefined) =>
    cameras.value?.cameras.edges.find((edge) => edge.node.id === id)?.node.name ?? 'camera';

  return (
    <section>
      <h1>Cameras</h1>
      <ErrorBox error={cameras.error ?? liveError} onRetry={reload} />
      <div className="table-wrap" tabIndex={0} role="region" aria-label="Cameras table">
        <table>
          <thead>
            <tr>
              <th scope="col">Camera</th>
              <th scope="col">Status</th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {cameras.value?.cameras.edges.map(({ node: camera }) => (
              <tr key={camera.id}>
                <td>{camera.name}</td>
                <td>
                  <span className={`status status-${camera.status.toLowerCase()}`}>
                    {camera.status.toLowerCase()}
                  </span>
                </td>
                <td>{when(camera.lastSeenAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {cameras.value?.cameras.totalCount === 0 ? (
        <p>
          No cameras yet. Start one with <code>hbi camera --source … --camera name</code>.
        </p>
      ) : null}
      <h2>Arriving now</h2>
      <p className="hint" aria-live="polite">
        {live.length === 0
          ? 'Waiting for new camera segments…'
          : `${live.length} new ${live.length === 1 ? 'segment' : 'segments'} since you opened this page`}
      </p>
      <ol className="grid" aria-label="New camera segments">
        {live.map((segment) => (
          <li key={segment.id} className="live-segment" data-testid="live-segment">
            <Thumbnail
              url={thumbnailOf(segment)}
              label={`${nameOf(segment.video?.cameraId)} at ${when(segment.video?.capturedAt ?? segment.createdAt)}`}
            />
            <span className="hit-title">{nameOf(segment.video?.cameraId)}</span>
            <span className="hit-meta">
              {when(segment.video?.capturedAt ?? segment.createdAt)} ·{' '}
              {clock(segment.endMs - segment.startMs)}
            </span>
          </li>
        ))}
      </ol>
    </section>
  );
}
