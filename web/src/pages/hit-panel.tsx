import { useEffect, useRef, useState } from 'react';
import type { FormEvent } from 'react';

import type { ApiError } from '../api.js';
import { request } from '../api.js';
import { ErrorBox, asApiError, useSession } from '../components.js';
import { clock, percent } from '../format.js';
import type { ResultOf } from '../graphql.js';
import { graphql } from '../graphql.js';
import { playbackOf } from '../media.js';
import type { Hit } from './search.js';

const AnswerQuery = graphql(`
  query Answer($segmentId: ID!, $question: String!) {
    answer(segmentId: $segmentId, question: $question, alternatives: 3) {
      answer
      confidence
      alternatives {
        answer
        confidence
      }
    }
  }
`);

const CaptionQuery = graphql(`
  query Caption($segmentId: ID!) {
    caption(segmentId: $segmentId) {
      text
      score
    }
  }
`);

/** One hit opened: its video playing from the hit's start, a question about it, its caption. */
export function HitPanel({ hit, onClose }: { hit: Hit; onClose: () => void }) {
  const { key } = useSession();
  const video = useRef<HTMLVideoElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  const [question, setQuestion] = useState('');
  const [answer, setAnswer] = useState<ResultOf<typeof AnswerQuery>['answer'] | null>(null);
  const [caption, setCaption] = useState<ResultOf<typeof CaptionQuery>['caption'] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState<'answer' | 'caption' | null>(null);
  const playback = playbackOf(hit);

  useEffect(() => {
    setAnswer(null);
    setCaption(null);
    setError(null);
    heading.current?.focus();
  }, [hit.segmentId]);

  // The URL's media fragment (#t=start,end) starts it there; seeking again covers browsers that ignore it.
  const startHere = () => {
    const element = video.current;
    if (!element) return;
    if (Math.abs(element.currentTime - hit.startMs / 1000) > 0.25) element.currentTime = hit.startMs / 1000;
    element.play().catch(() => undefined);
  };

  const ask = async (event: FormEvent) => {
    event.preventDefault();
    setBusy('answer');
    setError(null);
    try {
      setAnswer((await request(key, AnswerQuery, { segmentId: hit.segmentId, question })).answer);
    } catch (failure) {
      setError(asApiError(failure));
    } finally {
      setBusy(null);
    }
  };
  const describe = async () => {
    setBusy('caption');
    setError(null);
    try {
      setCaption((await request(key, CaptionQuery, { segmentId: hit.segmentId })).caption);
    } catch (failure) {
      setError(asApiError(failure));
    } finally {
      setBusy(null);
    }
  };

  return (
    <section className="hit-panel" aria-labelledby="hit-heading">
      <div className="panel-head">
        <h2 id="hit-heading" ref={heading} tabIndex={-1}>
          {hit.videoTitle ?? hit.videoId} · {clock(hit.startMs)}–{clock(hit.endMs)}
        </h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {playback ? (
        <video
          ref={video}
          key={playback}
          src={playback}
          controls
          muted
          playsInline
          preload="auto"
          onLoadedMetadata={startHere}
          data-testid="player"
          aria-label={`Video ${hit.videoTitle ?? hit.videoId} from ${clock(hit.startMs)}`}
        />
      ) : (
        <p className="placeholder-note">
          This video has no playable rendition yet; the server returns one once its media is ready.
        </p>
      )}
      <form className="ask" onSubmit={(event) => void ask(event)}>
        <label htmlFor="question">Ask about this moment</label>
        <input
          id="question"
          value={question}
          onChange={(event) => setQuestion(event.target.value)}
          placeholder="what color is the circle?"
          required
        />
        <button type="submit" disabled={busy !== null || question.trim() === ''}>
          {busy === 'answer' ? 'Asking…' : 'Ask'}
        </button>
      </form>
      {answer ? (
        <p className="answer" data-testid="answer">
          Answer: <strong>{answer.answer}</strong> ({percent(answer.confidence)})
          {answer.alternatives.length > 0 ? (
            <span className="alternatives">
              {' '}
              · then{' '}
              {answer.alternatives
                .map((alternative) => `${alternative.answer} (${percent(alternative.confidence)})`)
                .join(', ')}
            </span>
          ) : null}
        </p>
      ) : null}
      <button type="button" onClick={() => void describe()} disabled={busy !== null}>
        {busy === 'caption' ? 'Captioning…' : 'Caption this moment'}
      </button>
      {caption ? (
        <p className="caption" data-testid="caption">
          “{caption.text}”
        </p>
      ) : null}
      <ErrorBox error={error} />
    </section>
  );
}
