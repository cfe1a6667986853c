import { useEffect, useRef, useState } from 'react';
import type { DragEvent } from 'react';

import type { ApiError } from '../api.js';
import { request, subscribe, uploadFile } from '../api.js';
import { ErrorBox, asApiError, useSession } from '../components.js';
import { bytes, percent } from '../format.js';
import type { ResultOf } from '../graphql.js';
import { graphql } from '../graphql.js';

const CreateUpload = graphql(`
  mutation CreateUpload($filename: String!, $contentType: String!, $sizeBytes: SafeInt!, $title: String) {
    createUpload(filename: $filename, contentType: $contentType, sizeBytes: $sizeBytes, title: $title) {
      uploadUrl
      expiresAt
    }
  }
`);

const JobProgress = graphql(`
  subscription JobProgress($jobId: ID!) {
    jobProgress(jobId: $jobId) {
      id
      status
      progress
      doneSteps
      totalSteps
      error {
        code
        message
      }
      video {
        id
        status
      }
    }
  }
`);

type Job = ResultOf<typeof JobProgress>['jobProgress'];

interface Item {
  id: number;
  file: File;
  sent: number;
  job: Job | null;
  error: ApiError | null;
}

/** Guesses a video's type from its name when the browser does not know it (mkv, avi, …). */
function contentTypeOf(file: File): string {
  if (file.type) return file.type;
  const extension = file.name.split('.').pop()?.toLowerCase() ?? '';
  const known: Record<string, string> = {
    mp4: 'video/mp4',
    m4v: 'video/mp4',
    webm: 'video/webm',
    mov: 'video/quicktime',
    mkv: 'video/x-matroska',
    avi: 'video/x-msvideo',
    ts: 'video/mp2t',
  };
  return known[extension] ?? 'application/octet-stream';
}

export function UploadPage() {
  const { key } = useSession();
  const [items, setItems] = useState<Item[]>([]);
  const [dragging, setDragging] = useState(false);
  const next = useRef(0);
  const stops = useRef<(() => void)[]>([]);
  useEffect(() => () => stops.current.forEach((stop) => stop()), []);

  const update = (id: number, change: Partial<Item>) =>
    setItems((all) => all.map((item) => (item.id === id ? { ...item, ...change } : item)));

  const start = async (file: File) => {
    const id = next.current++;
    setItems((all) => [{ id, file, sent: 0, job: null, error: null }, ...all]);
    try {
      const title = file.name.replace(/\.[^.]+$/, '');
      const { createUpload } = await request(key, CreateUpload, {
        filename: file.name,
        contentType: contentTypeOf(file),
        sizeBytes: file.size,
        title,
      });
      const jobId = await uploadFile(createUpload.uploadUrl, file, (sent) => update(id, { sent })).done;
      update(id, { sent: file.size });
      stops.current.push(
        subscribe(
          key,
          JobProgress,
          { jobId },
          {
            next: ({ jobProgress }) => update(id, { job: jobProgress }),
            error: (error) => update(id, { error }),
          },
        ),
      );
    } catch (failure) {
      update(id, { error: asApiError(failure) });
    }
  };
  const take = (files: FileList | null) => {
    for (const file of Array.from(files ?? [])) void start(file);
  };
  const drop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    take(event.dataTransfer.files);
  };

  return (
    <section>
      <h1>Upload</h1>
      <div
        className={`drop-zone${dragging ? ' dragging' : ''}`}
        data-testid="drop-zone"
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={drop}
      >
        <p>Drop video files here, or</p>
        <label htmlFor="upload-files" className="button">
          Choose videos
        </label>
        <input
          id="upload-files"
          className="visually-hidden"
          type="file"
          accept="video/*,.mkv,.avi,.ts"
          multiple
          onChange={(event) => take(event.target.files)}
        />
        <p className="hint">
          Each file is stored, split into segments and indexed; progress shows below as it happens.
        </p>
      </div>
      <ul className="uploads" aria-label="Uploads">
        {items.map((item) => (
          <UploadRow key={item.id} item={item} />
        ))}
      </ul>
    </section>
  );
}

function UploadRow({ item }: { item: Item }) {
  const { file, sent, job, error } = item;
  const uploading = job === null && error === null;
  const phase = job
    ? `${job.status.toLowerCase()}${job.totalSteps !== null ? ` · ${job.doneSteps}/${job.totalSteps} segments` : ''}`
    : uploading
      ? `uploading · ${bytes(sent)} of ${bytes(file.size)}`
      : 'failed';
  return (
    <li className="upload-row" data-testid="upload-row">
      <strong>{file.name}</strong>
      <progress
        max={1}
        value={job ? job.progress : file.size === 0 ? 0 : sent / file.size}
        aria-label={`${file.name}: ${job ? 'indexing' : 'upload'} progress`}
      />
      <span className="meta" data-testid="upload-status" aria-live="polite">
        {phase} ({percent(job ? job.progress : file.size === 0 ? 0 : sent / file.size)})
      </span>
      {job?.error ? (
        <span className="error-inline">
          {job.error.message} ({job.error.code})
        </span>
      ) : null}
      <ErrorBox error={error} />
    </li>
  );
}
