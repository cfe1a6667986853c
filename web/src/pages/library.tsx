import { useEffect, useState } from 'react';

import type { ApiError } from '../api.js';
import { request, subscribe } from '../api.js';
import { ErrorBox, Thumbnail, asApiError, canWrite, useLoad, useSession } from '../components.js';
import { bytes, clock, percent, when } from '../format.js';
import { graphql } from '../graphql.js';
import { VideoMedia, thumbnailOf } from '../media.js';

const LibraryQuery = graphql(
  `
    query Library {
      videos(first: 50) {
        totalCount
        edges {
          node {
            id
            title
            status
            sourceUri
            durationMs
            sizeBytes
            createdAt
            error {
              code
              message
            }
            ...VideoMedia
          }
        }
      }
      jobs(first: 50) {
        edges {
          node {
            id
            videoId
            status
            progress
          }
        }
      }
    }
  `,
  [VideoMedia],
);

const DeleteVideo = graphql(`
  mutation DeleteVideo($id: ID!) {
    deleteVideo(id: $id) {
      deleted
      segments
    }
  }
`);

const ReindexVideo = graphql(`
  mutation ReindexVideo($id: ID!) {
    reindexVideo(id: $id) {
      id
      status
    }
  }
`);

const VideoIndexedSubscription = graphql(`
  subscription LibraryVideoIndexed {
    videoIndexed {
      videoId
    }
  }
`);

export function LibraryPage() {
  const { key, role } = useSession();
  const library = useLoad(() => request(key, LibraryQuery, {}), [key]);
  const [error, setError] = useState<ApiError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const { reload } = library;
  const videos = library.value?.videos.edges.map((edge) => edge.node) ?? [];
  const working = videos.some((video) => video.status === 'PENDING' || video.status === 'INDEXING');

  // A video finishing indexing refreshes the list; while some are in progress, so does a timer.
  useEffect(() => subscribe(key, VideoIndexedSubscription, {}, { next: reload }), [key, reload]);
  useEffect(() => {
    if (!working) return;
    const timer = setInterval(reload, 2000);
    return () => clearInterval(timer);
  }, [working, reload]);

  const progressOf = (videoId: string) =>
    library.value?.jobs.edges.find(
      (edge) =>
        edge.node.videoId === videoId && (edge.node.status === 'RUNNING' || edge.node.status === 'QUEUED'),
    )?.node.progress;

  const act = async (what: () => Promise<string>) => {
    setError(null);
    setNotice(null);
    try {
      setNotice(await what());
      reload();
    } catch (failure) {
      setError(asApiError(failure));
    }
  };
  const remove = (id: string) =>
    act(async () => {
      setConfirming(null);
      const { deleteVideo } = await request(key, DeleteVideo, { id });
      return deleteVideo.deleted
        ? `Deleted, with its ${deleteVideo.segments} segments.`
        : 'It was already gone.';
    });
  const reindex = (id: string) =>
    act(async () => {
      const { reindexVideo } = await request(key, ReindexVideo, { id });
      return `Re-index queued (job ${reindexVideo.id.slice(0, 8)}, ${reindexVideo.status.toLowerCase()}).`;
    });

  return (
    <section>
      <h1>Library</h1>
      <p className="summary">
        {library.value ? `${library.value.videos.totalCount} videos` : library.loading ? 'Loading…' : ''}
      </p>
      <ErrorBox error={error ?? library.error} onRetry={reload} />
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}
      <ul className="videos" aria-label="Videos">
        {videos.map((video) => {
          const progress = progressOf(video.id);
          const name = video.title ?? video.sourceUri ?? video.id;
          return (
            <li key={video.id} className="video-row" data-testid="video-row">
              <Thumbnail url={thumbnailOf(video)} label={name} />
              <div className="video-info">
                <strong>{name}</strong>
                <span className={`status status-${video.status.toLowerCase()}`}>
                  {video.status.toLowerCase()}
                </span>
                {progress !== undefined ? (
                  <progress max={1} value={progress} aria-label={`Indexing ${name}`}>
                    {percent(progress)}
                  </progress>
                ) : null}
                <span className="meta">
                  {video.durationMs !== null ? clock(video.durationMs) : '—'} · {bytes(video.sizeBytes)} ·
                  added {when(video.createdAt)}
                </span>
                {video.error ? (
                  <span className="error-inline">
                    {video.error.message} ({video.error.code})
                  </span>
                ) : null}
              </div>
              {canWrite(role) ? (
                <div className="actions">
                  <button type="button" onClick={() => void reindex(video.id)}>
                    Re-index
                  </button>
                  {confirming === video.id ? (
                    <>
                      <button type="button" className="danger" onClick={() => void remove(video.id)}>
                        Confirm delete
                      </button>
                      <button type="button" onClick={() => setConfirming(null)}>
                        Keep
                      </button>
                    </>
                  ) : (
                    <button type="button" className="danger" onClick={() => setConfirming(video.id)}>
                      Delete
                    </button>
                  )}
                </div>
              ) : null}
            </li>
          );
        })}
      </ul>
      {library.value && videos.length === 0 ? (
        <p>No videos yet. {canWrite(role) ? 'Upload one on the Upload page.' : ''}</p>
      ) : null}
    </section>
  );
}
