/**
 * `hbi bench search`: search latency over HTTP at a realistic index size (default 20 000 segments),
 * the two-stage search (pgvector HNSW top-K, then HBI re-rank) against an exact scan (HBI interaction
 * over every segment), and recall@10 of the two-stage search against that exact ranking. The corpus
 * is synthesised from real encodings of demo clips (synthetic-segments.ts); queries are demo captions.
 */
import { ApiKeyStore } from '../../core/auth/api-keys.js';
import type { Config } from '../../core/config.js';
import type { Database } from '../../core/db/port.js';
import type { SharedEncoder, VideoEncoding } from '../../core/encoder/types.js';
import { HbiError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { TaskContext } from '../../core/plugins/define-plugin.js';
import { startPlatform } from '../../core/platform.js';
import type { StoredTensorRow, VectorModel } from '../../core/segments/vector-store.js';
import {
  STORED_TENSOR_COLUMNS,
  storedTensors,
  bytesToFloat32,
  ensureVectorIndex,
  toVectorLiteral,
  vectorExpression,
  vectorIndexName,
} from '../../core/segments/vector-store.js';
import { DEFAULT_TENANT_ID } from '../../core/tenancy.js';
import { mapConcurrent } from '../../core/util/map-concurrent.js';
import { BUILTIN_PLUGINS } from '../../plugins/builtins.js';
import type { RetrievalConfig, SearchOutcome } from '../../plugins/retrieval/index.js';
import { searchTask } from '../../plugins/retrieval/index.js';
import type { Progress } from '../progress.js';
import { loadDemoClips } from './demo-clips.js';
import type { startReport } from './report.js';
import { mean, quantile, timed } from './stats.js';
import type { SyntheticSegment } from './synthetic-segments.js';
import { VARIANTS, applyVariant, insertSyntheticSegments } from './synthetic-segments.js';
import { inOwnerScope } from '../../core/db/scope.js';
import { representativeIndexName } from '../../core/segments/near-duplicates.js';

export interface SearchBenchOptions {
  /** Segments in the index. */
  segments: number;
  /** Demo clips encoded (each in every variant) as the corpus's real encodings. */
  bases: number;
  /** Distinct query texts (captions of the first demo clips). */
  queries: number;
  /** Times each query is sent for the latency percentiles. */
  repeat: number;
  /** Noise on the synthetic segments, relative to each vector's RMS. */
  noise: number;
  /** Where the index lives: PGlite in the temporary folder, or the PostgreSQL database at DATABASE_URL. */
  database: 'embedded' | 'postgres';
  /** PostgreSQL only: search the corpus an earlier run left in the database (same --segments) instead of loading one. */
  reuse?: boolean;
  /** Other search budgets whose recall and latency are measured in-process, besides the configured one. */
  budgets?: readonly SearchBudget[];
}

/** A search budget: candidate groups from the ANN stage (the plugin's when absent) and segments re-ranked at most. */
export interface SearchBudget {
  candidates?: number;
  maxRerank: number;
  /** Groups expanded first regardless of the bound (the plugin's `expandGroups` when absent). */
  expandGroups?: number;
}

/** Hits compared for recall (the page size of the search). */
const K = 10;
/** Segments per `interaction` run in the exact scan. */
const EXACT_CHUNK = 2048;

export async function runSearchBench(
  config: Config,
  options: SearchBenchOptions,
  report: ReturnType<typeof startReport>,
  progress: Progress,
  logger: Logger,
): Promise<void> {
  const platform = await startPlatform(config, logger, { builtins: BUILTIN_PLUGINS });
  try {
    const { kernel } = platform;
    const { dims } = kernel.modelPackage.manifest;
    const clips = await loadDemoClips(
      config.demoLibrary,
      Math.max(options.bases, options.queries),
      { ffmpeg: kernel.ffmpeg, model: kernel.modelPackage.manifest, timeoutMs: config.decodeTimeoutMs },
      (done, total) => progress.update(done, total, 'decoding demo clips'),
    );
    const variants = clips
      .slice(0, options.bases)
      .flatMap((clip) => VARIANTS.map((variant) => applyVariant(clip.frames, dims, variant)));
    const encoded = await timed(() =>
      mapConcurrent(variants, 64, async (frames, i): Promise<VideoEncoding> => {
        progress.update(i, variants.length, 'encoding base clips');
        return kernel.encoder.encodeVideo(frames);
      }),
    );
    report.measure(
      'real encodings the corpus is made from',
      variants.length,
      'clips',
      `${options.bases} demo clips × ${VARIANTS.length} variants, ${Math.round(encoded.ms / 100) / 10} s`,
    );

    // Bulk loading is faster without the index; it is built once all rows are in, as a re-index would.
    const { id: modelVersionId, embedDim } = kernel.modelVersion;
    const stored = await inOwnerScope('benchmark', () => storedSegments(kernel.db, modelVersionId));
    const reused = options.reuse === true && options.database === 'postgres';
    if (reused && stored !== options.segments) {
      throw new HbiError(
        'BAD_USER_INPUT',
        `--reuse: the database holds ${stored} segments of this model version, not ${options.segments}; ` +
          'give the --segments/--copies of the run that loaded it, or drop the database and run without --reuse',
      );
    }
    if (!reused) {
      await inOwnerScope('benchmark', () =>
        kernel.db.exec(`DROP INDEX IF EXISTS "${vectorIndexName(modelVersionId)}"`),
      );
    }
    const inserted = await timed(() =>
      reused
        ? inOwnerScope('benchmark', () =>
            readSegments(kernel.db, modelVersionId, (done) =>
              progress.update(done, options.segments, 'reading the stored corpus'),
            ),
          )
        : insertSyntheticSegments(kernel.db, kernel.vectors, encoded.value, {
            count: options.segments,
            noise: options.noise,
            seed: 20_000,
            onProgress: (done, total) => progress.update(done, total, 'inserting segments'),
          }),
    );
    progress.update(0, 0, 'building the HNSW index');
    // The graph of every segment held in memory while it is built (about 1 KB per segment; the
    // default 64 MB, or the cluster's 256 MB, is outgrown past ~200 000 segments).
    const buildMemoryMb = Math.min(4096, Math.max(256, Math.ceil((options.segments * 1.5) / 1024)));
    const indexed = await timed(() =>
      ensureVectorIndex(kernel.db, modelVersionId, embedDim, { buildMemoryMb }),
    );
    const rssAfterLoad = process.memoryUsage().rss;
    report.measure('segments indexed', options.segments, 'segments', `database: ${options.database}`);
    const storage = await inOwnerScope('benchmark', () => storageFigures(kernel.db, modelVersionId));
    report.measure(
      'near-duplicate groups',
      storage.groups,
      'groups',
      `representatives in their own HNSW index (HBI_NEAR_DUPLICATE_SIMILARITY ${config.nearDuplicateSimilarity}), built as rows went in`,
    );
    if (reused) {
      report.measure(
        'corpus read back',
        inserted.ms / 1000,
        's',
        '--reuse: the corpus an earlier run loaded (ids and frame tensors, for the exact scan); insert and index build not measured',
      );
    } else {
      report.measure(
        'insert rate',
        (options.segments * 1000) / inserted.ms,
        'segments/s',
        'rows, embedding and frame tensors, no index',
      );
    }
    if (!reused) {
      report.measure(
        'HNSW index build',
        indexed.ms / 1000,
        's',
        `every segment, after the bulk load (maintenance_work_mem ${buildMemoryMb} MB)`,
      );
    }
    report.measure(
      'disk per segment',
      storage.tableBytes / options.segments,
      'bytes',
      `videos, segments and segment_embeddings with all their indexes and TOAST: ${(storage.tableBytes / 1024 ** 2).toFixed(0)} MiB`,
    );
    report.measure(
      '… of which the HNSW indexes',
      storage.hnswBytes / options.segments,
      'bytes',
      `every segment ${(storage.fullIndexBytes / 1024 ** 2).toFixed(1)} MiB, representatives ${((storage.hnswBytes - storage.fullIndexBytes) / 1024 ** 2).toFixed(1)} MiB`,
    );

    const texts = clips.slice(0, options.queries).map((clip) => clip.captions[0]!);
    // The benchmark's data folder is new, so this start made the admin key, unless the database was
    // already set up (--database postgres): then the benchmark makes itself an hour's read key.
    const adminKey =
      platform.adminKey ??
      (
        await new ApiKeyStore(kernel.db).create({
          tenantId: DEFAULT_TENANT_ID,
          name: 'hbi bench search',
          role: 'read',
          expiresAt: new Date(Date.now() + 3_600_000),
        })
      ).token;
    const route = platform.registry.taskHandler(searchTask.kind);
    if (!route) throw new HbiError('INTERNAL', 'the retrieval plugin is not started');
    const retrieval = route.context(DEFAULT_TENANT_ID) as TaskContext<RetrievalConfig>;
    // The embedded database has no autovacuum: the vector store analyses the tables itself once enough
    // rows were written (table-statistics.ts). Measured as the store left them, then after a manual
    // ANALYZE: the two should agree.
    await kernel.vectors.statisticsSettled();
    const asIngested = await twoStageSearch(
      platform.gateway.url,
      adminKey,
      retrieval,
      texts,
      options.repeat,
      progress,
      'as ingested',
    );
    const analysed = await timed(() => inOwnerScope('benchmark', () => kernel.db.exec('ANALYZE')));
    const withIndex = await twoStageSearch(
      platform.gateway.url,
      adminKey,
      retrieval,
      texts,
      options.repeat,
      progress,
      'after ANALYZE',
    );
    // Where the two-stage time goes: the text graph and the re-rank alone, on the same texts and candidates.
    const [textMs, rerankMs, rerankCounts]: [number[], number[], number[]] = [[], [], []];
    const byId = new Map(inserted.value.map((segment) => [segment.segmentId, segment]));
    for (const text of texts) {
      const encodedText = await timed(() => kernel.encoder.encodeText(text));
      textMs.push(encodedText.ms);
      const candidates = (await searchSegments(retrieval, text)).ranked.map((hit) =>
        byId.get(hit.segmentId)!,
      );
      rerankCounts.push(candidates.length);
      rerankMs.push((await timed(() => kernel.encoder.interaction([encodedText.value], candidates))).ms);
    }
    // The baseline of the segment store: the same two stages with the candidates read by one SQL
    // statement written against the tables, without the tenant predicate (the path before the store).
    const [storeMs, directMs]: [number[], number[]] = [[], []];
    const plainTops: string[][] = [];
    const reranked: number[] = [];
    for (let r = 0; r < options.repeat; r++) {
      for (const [i, text] of texts.entries()) {
        progress.update(r * texts.length + i, options.repeat * texts.length, 'store vs direct SQL');
        const direct = await timed(() =>
          // As the connecting role: on PGlite a superuser, so no row-level security either.
          inOwnerScope('benchmark baseline', () =>
            directSearch(kernel.db, kernel.encoder, kernel.modelVersion, retrieval.config, text),
          ),
        );
        directMs.push(direct.ms);
        if (r === 0) plainTops.push(direct.value);
        const store = await timed(() => searchSegments(retrieval, text));
        storeMs.push(store.ms);
        reranked.push(store.value.reranked);
      }
    }
    // Recall against budget: the same grouped search with other budgets (candidate groups, segments
    // re-ranked at most), in-process.
    const budgets: Required<SearchBudget>[] = [
      {
        candidates: retrieval.config.candidates,
        maxRerank: retrieval.config.maxRerank,
        expandGroups: retrieval.config.expandGroups,
      },
      ...(options.budgets ?? []).map((b) => ({
        candidates: b.candidates ?? retrieval.config.candidates,
        maxRerank: b.maxRerank,
        expandGroups: b.expandGroups ?? retrieval.config.expandGroups,
      })),
    ];
    const sweep: { budget: string; ms: number[]; tops: string[][]; reranked: number[] }[] = [];
    for (const { candidates: groupsWanted, maxRerank, expandGroups } of budgets) {
      const budget = `candidates ${groupsWanted}, maxRerank ${maxRerank}, expandGroups ${expandGroups}`;
      const context = {
        ...retrieval,
        config: { ...retrieval.config, candidates: groupsWanted, maxRerank, expandGroups },
      };
      const run = { budget, ms: [] as number[], tops: [] as string[][], reranked: [] as number[] };
      for (const [i, text] of texts.entries()) {
        progress.update(i, texts.length, `grouped search, ${budget}`);
        await searchSegments(context, text); // warm: the frame cache holds what this budget reads
        const searched = await timed(() => searchSegments(context, text));
        run.ms.push(searched.ms);
        run.tops.push(searched.value.ranked.slice(0, K).map((hit) => hit.segmentId));
        run.reranked.push(searched.value.reranked);
      }
      sweep.push(run);
    }
    const exact: number[] = [];
    const truths: Set<string>[] = [];
    const groupRanks: number[] = [];
    const groupOf = await inOwnerScope('benchmark', () => groupsOfSegments(kernel.db, modelVersionId));
    const indexOf = new Map(inserted.value.map((segment, i) => [segment.segmentId, i]));
    const representatives = [...new Set(groupOf.values())];
    for (const [i, text] of texts.entries()) {
      progress.update(i, texts.length, 'exact scan (HBI over every segment)');
      const run = await timed(() => exactScores(kernel.encoder, text, inserted.value));
      exact.push(run.ms);
      const top = topIds(run.value, inserted.value);
      truths.push(new Set(top));
      groupRanks.push(worstGroupRank(run.value, top, groupOf, indexOf, representatives));
    }
    progress.finish();
    const peakRss = process.resourceUsage().maxRSS * 1024;

    const recalls = (tops: readonly string[][]) =>
      tops.map((top, i) => top.filter((id) => truths[i]!.has(id)).length / K);
    const candidates = retrieval.config.candidates;
    for (const [state, run] of [
      ['as ingested: statistics kept by the store', asIngested],
      ['after ANALYZE: HNSW index', withIndex],
    ] as const) {
      report.measure(
        `search over HTTP, ${state}: p50`,
        quantile(run.http, 0.5),
        'ms',
        `${run.http.length} requests, first: ${K}`,
      );
      report.measure(`search over HTTP, ${state}: p95`, quantile(run.http, 0.95), 'ms');
      report.measure(`ANN + re-rank in-process, ${state}: p50`, quantile(run.inProcess, 0.5), 'ms');
      report.measure(`ANN + re-rank in-process, ${state}: p95`, quantile(run.inProcess, 0.95), 'ms');
      const recall = recalls(run.tops);
      report.measure(
        `recall@${K} against the exact HBI ranking, ${state}: mean`,
        mean(recall),
        '',
        `worst query ${Math.min(...recall)}`,
      );
    }
    const plainRecall = recalls(plainTops);
    report.measure(
      `recall@${K} of the plain top ${retrieval.config.candidates} by cosine, re-ranked (baseline): mean`,
      mean(plainRecall),
      '',
      `worst query ${Math.min(...plainRecall)}; the search before near-duplicate groups`,
    );
    report.measure(
      'segments re-ranked per search: mean',
      mean(reranked),
      'segments',
      `max ${Math.max(...reranked)}; group representatives, then the members of groups that can reach the top ${retrieval.config.exactTop}`,
    );
    report.measure(
      'memory (RSS) after the corpus load',
      rssAfterLoad / 1024 ** 2,
      'MiB',
      `the bench process: server${options.database === 'embedded' ? ', PGlite' : ''} and the corpus's tensors held for the exact scan (${((options.segments * 4.2) / 1024).toFixed(0)} MiB of them)`,
    );
    report.measure('memory (RSS) peak', peakRss / 1024 ** 2, 'MiB', 'maxRSS of the bench process');
    report.measure(
      `groups that hold HBI's top ${K}: the worst rank of their representative by exact score`,
      Math.max(...groupRanks),
      '',
      `per query ${groupRanks.join(', ')} (1 = the best group); the grouped search must expand at least that many groups`,
    );
    for (const run of sweep) {
      const recall = recalls(run.tops);
      report.measure(
        `recall@${K}, grouped search with ${run.budget}: mean`,
        mean(recall),
        '',
        `worst query ${Math.min(...recall)}; in-process p50 ${quantile(run.ms, 0.5).toFixed(0)} ms, ` +
          `segments re-ranked mean ${mean(run.reranked).toFixed(0)} (max ${Math.max(...run.reranked)})`,
      );
    }
    report.measure('ANALYZE', analysed.ms / 1000, 's');
    report.measure('search through the tenant-scoped segment store: p50', quantile(storeMs, 0.5), 'ms');
    report.measure(
      'search with direct SQL, no tenant predicate or row-level security (baseline): p50',
      quantile(directMs, 0.5),
      'ms',
    );
    report.ratio(
      'segment store ÷ direct SQL, p50 latency in-process (same run, interleaved)',
      quantile(storeMs, 0.5) / quantile(directMs, 0.5),
    );
    report.measure('… of which the text graph: p50', quantile(textMs, 0.5), 'ms', 'timed alone');
    report.measure(
      '… of which the re-rank (interaction graph over every segment a search scored, in one run): p50',
      quantile(rerankMs, 0.5),
      'ms',
      `timed alone, ${Math.min(...rerankCounts)}–${Math.max(...rerankCounts)} segments; the search itself runs it in rounds, and the rest is the database`,
    );
    report.measure(
      'exact scan in-process: p50',
      quantile(exact, 0.5),
      'ms',
      `${exact.length} queries, tensors already in memory`,
    );
    report.measure('exact scan in-process: p95', quantile(exact, 0.95), 'ms');
    report.ratio(
      'exact scan ÷ ANN + re-rank (HNSW), p50 latency in-process',
      quantile(exact, 0.5) / quantile(withIndex.inProcess, 0.5),
    );
    report.ratio(
      'exact scan ÷ ANN + re-rank (as ingested), p50 latency in-process',
      quantile(exact, 0.5) / quantile(asIngested.inProcess, 0.5),
    );
    report.ratio(`recall@${K} of ANN + re-rank (HNSW) against exact`, mean(recalls(withIndex.tops)), 0.95);
    report.ratio(
      'search over HTTP: as ingested ÷ after ANALYZE, p50 latency',
      quantile(asIngested.http, 0.5) / quantile(withIndex.http, 0.5),
    );
    report.note(
      `Two-stage search: the top ${candidates} near-duplicate groups by cosine from pgvector (their representatives' HNSW index, ` +
        `ef_search ${Math.max(retrieval.config.efSearch, candidates)}), re-ranked by the interaction graph, then the members of ` +
        `the groups that can still reach the top ${retrieval.config.exactTop} (at most ${retrieval.config.maxRerank} segments in all). ` +
        `Baseline: the plain top ${candidates} segments by cosine, re-ranked (the search before groups). The embedded database ` +
        `is analysed by the store itself (table-statistics.ts); "after ANALYZE" adds a manual one. Exact scan: the text graph, ` +
        `then the interaction graph over all ${options.segments} segments in chunks of ${EXACT_CHUNK}, frame tensors already ` +
        `in memory (its best case: no database read).`,
    );
    report.note(
      `Corpus: ${options.segments} segments cycling over ${variants.length} real encodings (about ` +
        `${Math.round(options.segments / variants.length)} noisy copies of each), with Gaussian noise of ` +
        `${options.noise} × RMS on the embedding (re-normalised) and on the frame tokens; seed 20000. Queries: the first caption of each of the first ${texts.length} demo clips.`,
    );
  } finally {
    await platform.stop();
  }
}

/** Latencies of the two-stage search over HTTP and in-process (`repeat` per text, after a warm-up), and each text's top K. */
async function twoStageSearch(
  url: string,
  apiKey: string,
  retrieval: TaskContext<RetrievalConfig>,
  texts: readonly string[],
  repeat: number,
  progress: Progress,
  state: string,
): Promise<{ http: number[]; inProcess: number[]; tops: string[][] }> {
  const query = `query ($text: String!) { search(text: $text, first: ${K}) { edges { node { segmentId } } } }`;
  const send = async (text: string) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ query, variables: { text } }),
    });
    const body = (await response.json()) as { errors?: { message: string }[] };
    if (body.errors) throw new Error(`search failed: ${body.errors[0]!.message}`);
  };
  const tops: string[][] = [];
  for (const text of texts) {
    await send(text);
    tops.push((await searchSegments(retrieval, text)).ranked.slice(0, K).map((hit) => hit.segmentId));
  }
  const [http, inProcess]: [number[], number[]] = [[], []];
  for (let r = 0; r < repeat; r++) {
    for (const [i, text] of texts.entries()) {
      progress.update(r * texts.length + i, repeat * texts.length, `search ${state}`);
      http.push((await timed(() => send(text))).ms);
      inProcess.push((await timed(() => searchSegments(retrieval, text))).ms);
    }
  }
  return { http, inProcess, tops };
}

/** One in-process search through the retrieval task's handler, as a worker runs it. */
async function searchSegments(context: TaskContext<RetrievalConfig>, text: string): Promise<SearchOutcome> {
  const [outcome] = await searchTask.handle([{ id: 'bench', input: { text } }], context);
  if (!outcome?.ok) throw outcome?.error ?? new HbiError('INTERNAL', 'no outcome');
  return outcome.value;
}

/**
 * The two-stage search with the candidates read by direct SQL against the tables and no tenant
 * predicate: the baseline the segment store is compared with (the query the plugin ran before it).
 * Its caller runs it as the database owner, which row-level security does not bind on PGlite, so
 * the ratio also prices the per-transaction scope and the policies.
 */
async function directSearch(
  db: Database,
  encoder: SharedEncoder,
  model: VectorModel,
  config: RetrievalConfig,
  text: string,
): Promise<string[]> {
  const encoded = await encoder.encodeText(text);
  const distance = `${vectorExpression(model.embedDim).replace('embedding', 'e."embedding"')} <=> $1::vector(${model.embedDim})`;
  vectorIndexName(model.id);
  const rows = await db.transaction(async (tx) => {
    await tx.exec(`SET LOCAL hnsw.ef_search = ${Math.max(config.efSearch, config.candidates)}`);
    const result = await tx.query<{
      id: string;
      similarity: number;
      frame_tokens: Uint8Array;
      frame_weights: Uint8Array;
      frame_mask: Uint8Array;
    }>(
      `SELECT s."id", s."video_id", s."index", s."start_ms", s."end_ms", v."title", v."source_uri",
              1 - (${distance}) AS "similarity", e."frame_tokens", e."frame_weights", e."frame_mask"
       FROM "segment_embeddings" e JOIN "segments" s ON s."id" = e."segment_id" JOIN "videos" v ON v."id" = s."video_id"
       WHERE e."model_version_id" = '${model.id}' AND v."status" = 'INDEXED'
       ORDER BY ${distance} LIMIT $2`,
      [toVectorLiteral(encoded.embedding), config.candidates],
    );
    return result.rows;
  });
  const scores = await encoder.interaction(
    [encoded],
    rows.map((row) => ({
      frameTokens: bytesToFloat32(row.frame_tokens),
      frameWeights: bytesToFloat32(row.frame_weights),
      frameMask: bytesToFloat32(row.frame_mask),
    })),
  );
  return rows
    .map((row, i) => ({ id: row.id, score: scores[i]!, similarity: Number(row.similarity) }))
    .sort((a, b) => b.score - a.score || b.similarity - a.similarity || a.id.localeCompare(b.id))
    .slice(0, K)
    .map((row) => row.id);
}

/** Rows, bytes and groups of the segment tables (sizes include indexes and TOAST). */
async function storageFigures(
  db: Database,
  modelVersionId: string,
): Promise<{ tableBytes: number; hnswBytes: number; fullIndexBytes: number; groups: number }> {
  const { rows } = await db.query<{ table_bytes: string; full: string; reps: string; groups: number }>(
    `SELECT pg_total_relation_size('"videos"') + pg_total_relation_size('"segments"')
              + pg_total_relation_size('"segment_embeddings"') AS "table_bytes",
            pg_relation_size($1::regclass) AS "full", pg_relation_size($2::regclass) AS "reps",
            (SELECT count(*)::int FROM "segment_embeddings" WHERE "duplicate_of" IS NULL AND "model_version_id" = $3) AS "groups"`,
    [`"${vectorIndexName(modelVersionId)}"`, `"${representativeIndexName(modelVersionId)}"`, modelVersionId],
  );
  const row = rows[0]!;
  return {
    tableBytes: Number(row.table_bytes),
    fullIndexBytes: Number(row.full),
    hnswBytes: Number(row.full) + Number(row.reps),
    groups: row.groups,
  };
}

/** Segments of a model version in the database. */
async function storedSegments(db: Database, modelVersionId: string): Promise<number> {
  const { rows } = await db.query<{ count: number }>(
    `SELECT count(*)::int AS "count" FROM "segment_embeddings" WHERE "model_version_id" = $1`,
    [modelVersionId],
  );
  return rows[0]?.count ?? 0;
}

/** Every stored segment of a model version with its frame tensors (for the exact scan), in pages by id. */
async function readSegments(
  db: Database,
  modelVersionId: string,
  onProgress: (done: number) => void,
): Promise<SyntheticSegment[]> {
  const out: SyntheticSegment[] = [];
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const { rows } = await db.query<StoredTensorRow>(
      `SELECT ${STORED_TENSOR_COLUMNS} FROM "segment_embeddings"
       WHERE "model_version_id" = $1 AND "segment_id" > $2 ORDER BY "segment_id" LIMIT 10000`,
      [modelVersionId, after],
    );
    if (rows.length === 0) return out;
    for (const row of rows) out.push({ segmentId: row.segment_id, ...storedTensors(row) });
    after = rows.at(-1)!.segment_id;
    onProgress(out.length);
  }
}

/** The HBI score of every one of `segments` for `text`. */
async function exactScores(
  encoder: SharedEncoder,
  text: string,
  segments: readonly SyntheticSegment[],
): Promise<Float32Array> {
  const encoded = await encoder.encodeText(text);
  const scores = new Float32Array(segments.length);
  for (let start = 0; start < segments.length; start += EXACT_CHUNK) {
    scores.set(await encoder.interaction([encoded], segments.slice(start, start + EXACT_CHUNK)), start);
  }
  return scores;
}

/** The ids of the K best-scored segments. */
function topIds(scores: Float32Array, segments: readonly SyntheticSegment[]): string[] {
  return [...scores.keys()]
    .sort((a, b) => scores[b]! - scores[a]!)
    .slice(0, K)
    .map((index) => segments[index]!.segmentId);
}

/** Each segment's group (its representative's id; a representative's is its own). */
async function groupsOfSegments(db: Database, modelVersionId: string): Promise<Map<string, string>> {
  const { rows } = await db.query<{ segment_id: string; group_id: string }>(
    `SELECT "segment_id", coalesce("duplicate_of", "segment_id") AS "group_id" FROM "segment_embeddings"
     WHERE "model_version_id" = $1`,
    [modelVersionId],
  );
  return new Map(rows.map((row) => [row.segment_id, row.group_id]));
}

/**
 * Of the groups holding `top`, the worst rank (1-based) of its representative among all
 * representatives ordered by exact score: how many groups, best representative first, a search must
 * expand to find all of `top`.
 */
function worstGroupRank(
  scores: Float32Array,
  top: readonly string[],
  groupOf: ReadonlyMap<string, string>,
  indexOf: ReadonlyMap<string, number>,
  representatives: readonly string[],
): number {
  const ranked = representatives
    .map((id) => ({ id, score: scores[indexOf.get(id) ?? -1] ?? -Infinity }))
    .sort((a, b) => b.score - a.score);
  const rank = new Map(ranked.map((rep, i) => [rep.id, i + 1]));
  return Math.max(...top.map((id) => rank.get(groupOf.get(id) ?? id) ?? Infinity));
}
