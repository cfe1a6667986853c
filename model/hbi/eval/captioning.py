"""Corpus-level captioning metrics: BLEU-1..4, METEOR, ROUGE-L and CIDEr-D.

Inputs everywhere are

* ``gts: dict[id, list[str]]`` -- one or more reference captions per image/video;
* ``res: dict[id, str]``       -- exactly one hypothesis per id (a one-element list
  ``[str]``, the pycocoevalcap convention, is accepted too).

The key sets must be equal. Strings are tokenised with :func:`tokenize` unless
``tokenize=False`` is passed, in which case they must already be lower-cased,
space-separated tokens (what pycocoevalcap's scorers expect).

Agreement with the COCO caption evaluation toolkit (pycocoevalcap 1.2), checked in
``tests/test_metrics.py`` on the same pre-tokenised strings:

* :func:`bleu`    == ``Bleu(4)`` (corpus BLEU, "closest" reference length, same
  1e-9 / 1e-15 smoothing constants) to 1e-9;
* :func:`rouge_l` == ``Rouge()`` (LCS-based F with beta=1.2, precision and recall maxed
  separately over the references, averaged over ids) to 1e-9;
* :func:`cider_d` == ``Cider()`` (CIDEr-D: tf-idf with document frequencies over the
  reference corpus, n=1..4, clipped numerator, Gaussian length penalty sigma=6, x10)
  to 1e-9;
* :func:`meteor` is our own exact-match-only METEOR; see its docstring for how it
  relates to the Java METEOR 1.5 that pycocoevalcap runs.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence

import numpy as np

__all__ = [
    "tokenize",
    "bleu",
    "meteor",
    "rouge_l",
    "cider_d",
    "caption_metrics",
    "METEOR_1_5",
    "METEOR_2005",
    "FUNCTION_WORDS",
]

Gts = Mapping[Hashable, Sequence[str]]
Res = Mapping[Hashable, "str | Sequence[str]"]

# --------------------------------------------------------------------------- tokeniser

# Tokens that pycocoevalcap drops after PTB tokenisation, lower-cased (PTB's -LRB- etc.
# become -lrb- under -lowerCase and are then *not* dropped; we follow that). A plain
# double quote becomes `` or '' in PTB, both dropped.
_DROPPED = frozenset(["''", "'", "``", "`", '"', ".", "?", "!", ",", ":", "-", "--", "...", ";"])
_TITLES = frozenset("mr mrs ms dr prof st jr sr vs etc inc co corp ltd mt".split())
_CLITICS = frozenset(["'s", "'re", "'ve", "'ll", "'d", "'m", "n't"])
_BRACKETS = {"(": "-lrb-", ")": "-rrb-", "[": "-lsb-", "]": "-rsb-", "{": "-lcb-", "}": "-rcb-"}
_SPECIAL_SPLITS = {"cannot": ["can", "not"], "gonna": ["gon", "na"], "gotta": ["got", "ta"],
                   "wanna": ["wan", "na"], "gimme": ["gim", "me"], "lemme": ["lem", "me"]}
_ABBREV = re.compile(r"^(?:[a-z]\.)+$")          # u.s. e.g. i.e.
_CLITIC = re.compile(r"^(.+?)('s|'re|'ve|'ll|'d|'m)$")
_LEAD = "\"'`([{$"
_TRAIL = "\"'`)]}.,;:!?"


def _split_word(w: str) -> list[str]:
    """PTB-style split of one whitespace-delimited, lower-cased chunk."""
    if w in _CLITICS:  # already split off (keeps tokenize idempotent)
        return [w]
    lead: list[str] = []
    trail: list[str] = []
    while w and w[0] in _LEAD:
        lead.append(_BRACKETS.get(w[0], w[0]))
        w = w[1:]
    while w and w[-1] in _TRAIL:
        if w.endswith("..."):
            trail.append("...")
            w = w[:-3]
        elif w[-1] in "!?":                      # runs like "!!!" or "?!" stay one token
            j = len(w)
            while j > 0 and w[j - 1] in "!?":
                j -= 1
            trail.append(w[j:])
            w = w[:j]
        elif w[-1] == "." and (_ABBREV.match(w) or w[:-1] in _TITLES):  # keep an abbreviation's period
            break
        else:
            trail.append(_BRACKETS.get(w[-1], w[-1]))
            w = w[:-1]
    mid: list[str] = []
    if w:
        if w in _SPECIAL_SPLITS:
            mid = list(_SPECIAL_SPLITS[w])
        elif w.endswith("n't") and len(w) > 3:
            mid = [w[:-3], "n't"]
        elif (m := _CLITIC.match(w)) is not None:
            mid = [m.group(1), m.group(2)]
        elif w.startswith("-") and set(w) == {"-"}:
            mid = [w]
        else:
            mid = [w]
    return lead + mid + trail[::-1]


def tokenize(text: str) -> str:
    """Lower-case and PTB-tokenise ``text``; return the tokens joined by single spaces.

    Equivalent to pycocoevalcap's ``PTBTokenizer`` (Stanford PTBTokenizer with
    ``-lowerCase`` followed by removal of its punctuation list) for ordinary English
    text: punctuation ``. , ; : ! ? - -- ...`` and quotes are split off and dropped,
    clitics are separated (``dog's -> dog 's``, ``don't -> do n't``), abbreviations
    such as ``u.s.`` and numbers such as ``3.5`` stay whole, brackets become
    ``-lrb-``/``-rrb-`` (kept, as pycocoevalcap keeps them). Idempotent:
    ``tokenize(tokenize(s)) == tokenize(s)``. Not a full PTB re-implementation
    (e.g. no special handling of URLs, emoticons or non-ASCII quotes).
    """
    out: list[str] = []
    for chunk in text.lower().split():
        for tok in _split_word(chunk):
            if tok and tok not in _DROPPED:
                out.append(tok)
    return " ".join(out)


# --------------------------------------------------------------------------- input handling


def _prepare(gts: Gts, res: Res, do_tokenize: bool) -> tuple[list[Hashable], list[list[str]], list[str]]:
    """Validate inputs; return (ids, refs per id, hypothesis per id) as strings."""
    if set(gts.keys()) != set(res.keys()):
        missing = set(gts) ^ set(res)
        raise ValueError(f"gts and res must have the same ids; {len(missing)} differ, e.g. {next(iter(missing))!r}")
    if not gts:
        raise ValueError("empty corpus")
    ids = list(gts.keys())
    refs: list[list[str]] = []
    hyps: list[str] = []
    for i in ids:
        r = gts[i]
        if isinstance(r, str) or len(r) == 0:
            raise ValueError(f"gts[{i!r}] must be a non-empty list of strings")
        h = res[i]
        if not isinstance(h, str):
            if len(h) != 1:
                raise ValueError(f"res[{i!r}] must be one string (or a one-element list)")
            h = h[0]
        if do_tokenize:
            refs.append([tokenize(s) for s in r])
            hyps.append(tokenize(h))
        else:
            refs.append(list(r))
            hyps.append(h)
    return ids, refs, hyps


def _ngram_counts(words: list[str], n: int) -> Counter:
    """Counts of all 1..n-grams of ``words`` (as tuples)."""
    c = Counter(zip(words))
    for k in range(2, n + 1):
        c.update(zip(*[words[i:] for i in range(k)]))
    return c


class _NGramTable:
    """Sparse n-gram count table for a corpus, shared by BLEU and CIDEr.

    Sentences 0..N-1 are the hypotheses, N.. the references (grouped by item, in
    order). Entry e says sentence ``sent[e]`` contains n-gram ``gid[e]`` ``cnt[e]``
    times; ``order[g]`` is n-1 for n-gram id g; ``item[s]`` maps sentence -> item.
    """

    def __init__(self, hyps: list[list[str]], refs: list[list[list[str]]], n: int):
        self.n = n
        self.n_items = len(hyps)
        vocab: dict[tuple, int] = {}
        sent, gid, cnt = [], [], []
        sentences = hyps + [r for rs in refs for r in rs]
        for s_idx, words in enumerate(sentences):
            c = _ngram_counts(words, n)
            sent.extend([s_idx] * len(c))
            gid.extend([vocab.setdefault(g, len(vocab)) for g in c])
            cnt.extend(c.values())
        self.n_grams = len(vocab)
        order = np.empty(len(vocab), dtype=np.int64)
        for g, i in vocab.items():
            order[i] = len(g) - 1
        self.order = order
        self.sent = np.asarray(sent, dtype=np.int64)
        self.gid = np.asarray(gid, dtype=np.int64)
        self.cnt = np.asarray(cnt, dtype=np.float64)
        self.lengths = np.asarray([len(w) for w in sentences], dtype=np.int64)
        self.n_refs = np.asarray([len(rs) for rs in refs], dtype=np.int64)
        self.item = np.concatenate([np.arange(self.n_items), np.repeat(np.arange(self.n_items), self.n_refs)])
        self.is_hyp = self.sent < self.n_items
        # hypothesis entries sorted by (item, gid) key for look-ups from the reference side
        hk = self.key(self.is_hyp)
        o = np.argsort(hk, kind="stable")
        self.hyp_keys = hk[o]
        self.hyp_entries = np.flatnonzero(self.is_hyp)[o]

    def key(self, mask: np.ndarray) -> np.ndarray:
        return self.item[self.sent[mask]] * self.n_grams + self.gid[mask]

    def lookup_hyp(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For (item, gid) keys: (found mask, index of the hypothesis entry; valid where found)."""
        found, pos = _find_sorted(self.hyp_keys, keys)
        return found, self.hyp_entries[pos] if len(self.hyp_entries) else pos


def _find_sorted(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(found mask, position in ``sorted_keys``; clamped, valid where found)."""
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), bool), np.zeros(len(keys), np.int64)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[pos] == keys, pos


def _tokens(refs: list[list[str]], hyps: list[str]) -> tuple[list[list[str]], list[list[list[str]]]]:
    return [h.split() for h in hyps], [[r.split() for r in rs] for rs in refs]


# --------------------------------------------------------------------------- BLEU


def bleu(gts: Gts, res: Res, n: int = 4, *, tokenize: bool = True, per_item: bool = False):
    """Corpus BLEU-1..n as in pycocoevalcap's ``Bleu(n)``.

    Clipped n-gram counts (clip = max count in any one reference) and hypothesis
    lengths are summed over the corpus; the effective reference length of each
    item is the reference length closest to the hypothesis length (ties -> the
    shorter one); brevity penalty ``exp(1 - r/c)`` when ``c < r``. BLEU-k is the
    geometric mean of the modified precisions 1..k, computed with pycocoevalcap's
    smoothing constants ``(correct + 1e-15) / (guess + 1e-9)``.

    Returns ``[BLEU-1, ..., BLEU-n]`` (0-1 scale); with ``per_item=True`` also an
    array ``[len(ids), n]`` of sentence-level BLEU computed the same way per item.
    """
    _, refs, hyps = _prepare(gts, res, tokenize)
    return _bleu(_NGramTable(*_tokens(refs, hyps), n), per_item)


def _bleu(t: _NGramTable, per_item: bool):
    n, N = t.n, t.n_items
    small, tiny = 1e-9, 1e-15
    # max count of each (item, n-gram) over that item's references
    ref = ~t.is_hyp
    rkey = t.key(ref)
    rcnt = t.cnt[ref]
    o = np.lexsort((rcnt, rkey))           # by key, then count: last of each run is the max
    rkey, rcnt = rkey[o], rcnt[o]
    last = np.r_[rkey[1:] != rkey[:-1], True] if len(rkey) else np.zeros(0, bool)
    ukey, umax = rkey[last], rcnt[last]
    hyp = t.is_hyp
    hit, pos = _find_sorted(ukey, t.key(hyp))
    clipped = np.where(hit, np.minimum(t.cnt[hyp], umax[pos] if len(umax) else 0.0), 0.0)
    h_item = t.sent[hyp]
    correct = np.bincount(h_item * n + t.order[t.gid[hyp]], weights=clipped, minlength=N * n).reshape(N, n)
    tl = t.lengths[:N]
    guess = np.maximum(0, tl[:, None] - np.arange(n)[None, :])
    # closest reference length, ties -> shorter: minimise (|l - tl|, l) per item
    rl_all = t.lengths[N:]
    r_item = t.item[N:]
    big = int(rl_all.max(initial=0)) + 1
    code = np.abs(rl_all - tl[r_item]) * big + rl_all
    starts = np.r_[0, np.cumsum(t.n_refs)[:-1]]
    rl = np.minimum.reduceat(code, starts) % big
    scores = _bleu_from_counts(correct.sum(0).astype(np.int64).tolist(), guess.sum(0).tolist(),
                               int(tl.sum()), int(rl.sum()), small, tiny)
    if not per_item:
        return scores
    items = np.array([_bleu_from_counts(c, g, a, b, small, tiny)
                      for c, g, a, b in zip(correct.tolist(), guess.tolist(), tl.tolist(), rl.tolist())])
    return scores, items


def _bleu_from_counts(correct, guess, testlen, reflen, small, tiny) -> list[float]:
    out = []
    prod = 1.0
    for k in range(len(correct)):
        prod *= (float(correct[k]) + tiny) / (float(guess[k]) + small)
        out.append(prod ** (1.0 / (k + 1)))
    ratio = (testlen + tiny) / (reflen + small)
    if ratio < 1:
        bp = math.exp(1 - 1 / ratio)
        out = [s * bp for s in out]
    return out


# --------------------------------------------------------------------------- ROUGE-L


def _lcs_len(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (bit-parallel, Allison-Dix/Hyyro).

    Bit i of ``v`` is 0 where row i of the DP table steps up; one big-int update per
    token of ``b``, so O(len(b)) word operations for sentence-length ``a``.
    """
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, w in enumerate(a):
        masks[w] = masks.get(w, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for w in b:
        m = masks.get(w)
        if m:
            u = v & m
            v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def rouge_l(gts: Gts, res: Res, beta: float = 1.2, *, tokenize: bool = True, per_item: bool = False):
    """ROUGE-L as in pycocoevalcap's ``Rouge()``, averaged over ids (0-1 scale).

    Per item: P_j = LCS(hyp, ref_j)/|hyp|, R_j = LCS/|ref_j|; P = max_j P_j and
    R = max_j R_j (maxed separately, as pycocoevalcap does);
    score = (1+beta^2) P R / (R + beta^2 P), 0 if P or R is 0.
    Sentences are split on single spaces like pycocoevalcap, so an empty string counts
    as one empty token (an empty hypothesis scores 0, or 1 against an empty reference).
    """
    _, refs, hyps = _prepare(gts, res, tokenize)
    b2 = beta * beta
    scores = np.empty(len(hyps))
    for idx, (hyp, rs) in enumerate(zip(hyps, refs)):
        hw = hyp.split(" ")
        pmax = rmax = 0.0
        for r in rs:
            rw = r.split(" ")
            lcs = _lcs_len(rw, hw) if len(rw) >= len(hw) else _lcs_len(hw, rw)
            pmax = max(pmax, lcs / len(hw))
            rmax = max(rmax, lcs / len(rw))
        scores[idx] = ((1 + b2) * pmax * rmax) / (rmax + b2 * pmax) if pmax and rmax else 0.0
    score = float(scores.mean())
    return (score, scores) if per_item else score


# --------------------------------------------------------------------------- CIDEr-D


def cider_d(gts: Gts, res: Res, n: int = 4, sigma: float = 6.0, *, tokenize: bool = True, per_item: bool = False):
    """CIDEr-D as in pycocoevalcap's ``Cider()`` (returned on its 0-10 scale).

    * document frequency df(g) = number of ids whose reference set contains n-gram g;
      idf(g) = log(N_ids) - log(max(1, df(g))) (so the statistics come from the
      references of the evaluated corpus, and a one-item corpus scores 0);
    * each sentence -> per-order tf-idf vectors (raw counts x idf), n = 1..4;
    * similarity with reference j for order k: sum_g min(h_g, r_g) * r_g / (|h| |r|)
      (the clipped cosine of CIDEr-D), times exp(-d^2 / (2 sigma^2)) where d is the
      difference in *bigram counts* (pycocoevalcap's length definition);
    * item score = 10 * mean_k mean_j sim; corpus score = mean over items.
    """
    _, refs, hyps = _prepare(gts, res, tokenize)
    return _cider(_NGramTable(*_tokens(refs, hyps), n), sigma, per_item)


def _cider(t: _NGramTable, sigma: float, per_item: bool):
    n, N = t.n, t.n_items
    S = len(t.lengths)
    ref = ~t.is_hyp
    # document frequency: number of items whose reference set contains the n-gram
    ukey = np.unique(t.key(ref))
    df = np.bincount(ukey % t.n_grams, minlength=t.n_grams).astype(np.float64)
    idf = math.log(float(N)) - np.log(np.maximum(1.0, df))
    w = t.cnt * idf[t.gid]                                  # tf-idf weight of every entry
    e_order = t.order[t.gid]
    norm = np.sqrt(np.bincount(t.sent * n + e_order, weights=w * w, minlength=S * n)).reshape(S, n)
    # pycocoevalcap's "length" is the number of bigrams
    nbig = np.bincount(t.sent, weights=np.where(e_order == 1, t.cnt, 0.0), minlength=S)
    # clipped dot products: for each reference entry, the hypothesis weight of the same n-gram
    r_idx = np.flatnonzero(ref)
    found, h_idx = t.lookup_hyp(t.key(ref))
    r_idx, h_idx = r_idx[found], h_idx[found]
    wr, wh = w[r_idx], w[h_idx]
    dot = np.bincount(t.sent[r_idx] * n + e_order[r_idx], weights=np.minimum(wh, wr) * wr,
                      minlength=S * n).reshape(S, n)[N:]
    r_item = t.item[N:]
    nh, nr = norm[r_item], norm[N:]
    nz = (nh != 0) & (nr != 0)
    dot = np.where(nz, dot / np.where(nz, nh * nr, 1.0), dot)
    pen = np.exp(-((nbig[r_item] - nbig[N:]) ** 2) / (2.0 * sigma * sigma))
    per_ref = dot.sum(axis=1) * pen                         # sum over n-gram orders
    scores = np.bincount(r_item, weights=per_ref, minlength=N) / n / t.n_refs * 10.0
    score = float(scores.mean())
    return (score, scores) if per_item else score


# --------------------------------------------------------------------------- METEOR

# Closed-class English words (articles, determiners, pronouns, prepositions,
# conjunctions, auxiliaries and clitics). METEOR 1.5 weights matches of such words by
# (1 - delta) and of all other words by delta. Our own list; the Java tool uses a
# corpus-frequency-derived list, which differs on words such as "one", "two",
# "people" (function words there) and "near", "behind", "under" (content words there).
FUNCTION_WORDS: frozenset[str] = frozenset(
    """
    a an the this that these those some any each every all both no other another such
    i me my mine you your yours he him his she her hers it its we us our ours they them
    their theirs who whom whose which what there here
    is are was were be been being am has have had do does did will would can could
    shall should may might must 's 're 've 'll 'd 'm n't not
    and or but nor so yet if than as because while although though when where how why
    of in on at by for with from to into onto over under up down out off about above
    below across after against along among around before behind between beyond during
    inside near outside through toward towards upon within without
    """.split()
)

# Parameter presets. METEOR_1_5: the English defaults of the METEOR 1.5 jar that
# pycocoevalcap runs (alpha, beta, gamma, delta = 0.85, 0.2, 0.6, 0.75, function-word
# weighting). METEOR_2005: the original Banerjee & Lavie parameters (also nltk's):
# alpha=0.9, beta=3, gamma=0.5, every word weighted equally.
METEOR_1_5 = {"alpha": 0.85, "beta": 0.2, "gamma": 0.6, "delta": 0.75, "function_words": FUNCTION_WORDS}
METEOR_2005 = {"alpha": 0.9, "beta": 3.0, "gamma": 0.5, "delta": 1.0, "function_words": frozenset()}

_MAX_ALIGNMENTS = 4096


def _align(h: list[str], r: list[str]) -> tuple[list[int], int]:
    """Exact-match alignment: max #matches, then min #chunks.

    Returns (hyp positions that are matched, number of chunks). A maximum matching
    pairs min(#in hyp, #in ref) occurrences of every word; chunks = matches minus the
    number of neighbouring pairs (i, j), (i+1, j+1) that are both aligned, so we
    maximise those adjacencies over the ways of pairing repeated words. Words seen
    once on each side are forced; the repeated ones are enumerated exhaustively (up
    to 4096 combinations, beyond which each word's pairing is improved greedily one
    word at a time starting from the order-preserving pairing).
    """
    hpos: dict[str, list[int]] = {}
    for i, w in enumerate(h):
        hpos.setdefault(w, []).append(i)
    rpos: dict[str, list[int]] = {}
    for j, w in enumerate(r):
        rpos.setdefault(w, []).append(j)
    link = [-1] * len(h)
    choices: list[list[tuple[tuple[int, ...], tuple[int, ...]]]] = []
    for w, hi in hpos.items():
        rj = rpos.get(w)
        if rj is None:
            continue
        if len(hi) == 1 and len(rj) == 1:
            link[hi[0]] = rj[0]
            continue
        k = min(len(hi), len(rj))
        opts = []
        # monotone (order-preserving) options first so that ties keep them
        for hs in itertools.combinations(hi, k):
            for rs in itertools.combinations(rj, k):
                opts.append((hs, rs))
                for perm in itertools.permutations(rs):
                    if perm != rs:
                        opts.append((hs, perm))
        choices.append(opts)

    def n_adjacent(lk: list[int]) -> int:
        return sum(1 for i in range(len(lk) - 1) if lk[i] >= 0 and lk[i + 1] == lk[i] + 1)

    if choices:
        total = math.prod(len(c) for c in choices)
        if total <= _MAX_ALIGNMENTS:
            best, best_adj = None, -1
            for combo in itertools.product(*choices):
                lk = link[:]
                for hs, rs in combo:
                    for i, j in zip(hs, rs):
                        lk[i] = j
                a = n_adjacent(lk)
                if a > best_adj:
                    best, best_adj = lk, a
            link = best
        else:  # coordinate ascent from the all-monotone start
            sel = [0] * len(choices)

            def build(s):
                lk = link[:]
                for c, o in zip(choices, s):
                    hs, rs = c[o]
                    for i, j in zip(hs, rs):
                        lk[i] = j
                return lk

            cur = n_adjacent(build(sel))
            improved = True
            while improved:
                improved = False
                for t, c in enumerate(choices):
                    for o in range(len(c)):
                        trial = sel[:t] + [o] + sel[t + 1:]
                        a = n_adjacent(build(trial))
                        if a > cur:
                            cur, sel, improved = a, trial, True
            link = build(sel)
    matched = [i for i, j in enumerate(link) if j >= 0]
    chunks = 0
    prev = None
    for i in matched:
        if prev is None or i != prev + 1 or link[i] != link[prev] + 1:
            chunks += 1
        prev = i
    return matched, chunks


def _meteor_from_stats(s: np.ndarray, alpha: float, beta: float, gamma: float, delta: float) -> float:
    """Score from sufficient statistics
    s = [hyp_len, ref_len, hyp_func, ref_func, matched_content, matched_func, chunks]."""
    hl, rl, hf, rf, mc, mf, ch = (float(x) for x in s)
    m = mc + mf
    if m == 0 or hl == 0 or rl == 0:
        return 0.0
    wm = delta * mc + (1.0 - delta) * mf
    hden = delta * (hl - hf) + (1.0 - delta) * hf
    rden = delta * (rl - rf) + (1.0 - delta) * rf
    if wm <= 0 or hden <= 0 or rden <= 0:  # the Java tool's NaN -> 0 cases
        return 0.0
    p, r = wm / hden, wm / rden
    fmean = 1.0 / ((1.0 - alpha) / p + alpha / r)
    frag = 0.0 if (m == hl and m == rl and ch == 1) else ch / m
    return max(fmean * (1.0 - gamma * frag ** beta), 0.0)


def meteor(
    gts: Gts,
    res: Res,
    *,
    alpha: float = METEOR_1_5["alpha"],
    beta: float = METEOR_1_5["beta"],
    gamma: float = METEOR_1_5["gamma"],
    delta: float = METEOR_1_5["delta"],
    function_words: frozenset[str] | set[str] = FUNCTION_WORDS,
    tokenize: bool = True,
    per_item: bool = False,
):
    """METEOR with the **exact-match module only** (no stemming, WordNet synonyms or
    paraphrase tables), scored the way METEOR 1.5 scores (0-1 scale).

    Alignment: unigram matches between identical tokens, as many as possible, and
    among those the alignment with the fewest chunks (runs of matches contiguous and
    in the same order on both sides). Per reference j, with m matches of which m_f are
    function words (``function_words``), delta-weighted precision and recall

        P = (delta (m - m_f) + (1-delta) m_f) / (delta (|h| - h_f) + (1-delta) h_f)
        R = same with the reference's lengths,
        Fmean = P R / (alpha P + (1 - alpha) R)     (recall-weighted when alpha > .5)
        Pen   = gamma * (chunks / m) ** beta         (0 if all words match in 1 chunk)
        score = Fmean * (1 - Pen).

    delta=1 (or an empty ``function_words``) gives the classic unweighted P = m/|h|.
    Each item keeps the statistics of its best-scoring reference (max over
    references); the corpus score is computed, like the Java tool's, from the
    statistics summed over items (not the mean of item scores), where an item whose
    hypothesis equals its best reference contributes no chunks.

    Defaults are ``METEOR_1_5`` = the parameters of the METEOR 1.5 jar that
    pycocoevalcap runs, so numbers stay comparable with published COCO-style METEOR;
    ``**METEOR_2005`` gives alpha=0.9, beta=3, gamma=0.5 with every word weighted
    equally (Banerjee & Lavie 2005 / nltk), which on our captions scores about twice
    as high as the jar (e.g. 0.66-0.74 vs 0.31-0.37) and is therefore not the default.

    Agreement (tests/test_metrics.py): against the jar restricted to its exact module
    (``-m exact``) and given the jar's function-word list, item and corpus scores are
    identical (1e-9), except on contrived sentences with many repeated words where
    the jar's beam search (width 40) misses the fewest-chunk alignment that our
    exhaustive search finds. Against pycocoevalcap's full ``Meteor()`` (stem,
    synonym and paraphrase modules on, its own function-word list) scores differ
    where those modules fire; on captions from a small grammar the corpus score is
    0.001-0.004 lower and items differ by 0.003-0.005 on average (~80 % identical).

    Returns the corpus score; with ``per_item=True`` also the item scores array.
    """
    _, refs, hyps = _prepare(gts, res, tokenize)
    fw = frozenset(function_words)
    total = np.zeros(7)
    items = np.empty(len(hyps))
    for idx, (hyp, rs) in enumerate(zip(hyps, refs)):
        hw = hyp.split()
        hf = sum(w in fw for w in hw)
        best_s, best = -1.0, None
        for r in rs:
            rw = r.split()
            matched, chunks = _align(hw, rw)
            mf = sum(hw[i] in fw for i in matched)
            st = np.array([len(hw), len(rw), hf, sum(w in fw for w in rw), len(matched) - mf, mf, chunks], float)
            sc = _meteor_from_stats(st, alpha, beta, gamma, delta)
            if sc > best_s:
                best_s, best = sc, st
        if best[4] + best[5] == best[0] == best[1] and best[6] == 1:
            best = best.copy()
            best[6] = 0  # a perfect match adds no fragmentation to the corpus (as in METEOR 1.5)
        total += best
        items[idx] = best_s
    score = _meteor_from_stats(total, alpha, beta, gamma, delta)
    return (score, items) if per_item else score


# --------------------------------------------------------------------------- all together


def caption_metrics(gts: Gts, res: Res, *, tokenize: bool = True, meteor_params: Mapping | None = None) -> dict[str, float]:
    """All captioning metrics on one corpus.

    Args:
        gts: ``{id: [reference, ...]}``, at least one reference per id.
        res: ``{id: hypothesis}``, same ids.
        tokenize: apply :func:`tokenize` to every string first (else they must be
            pre-tokenised, space-separated).
        meteor_params: overrides for :func:`meteor` (default :data:`METEOR_1_5`; e.g.
            ``METEOR_2005``).

    Returns:
        ``{"BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr"}``:
        BLEU/METEOR/ROUGE-L on 0-1, CIDEr(-D) on COCO's 0-10 scale.
    """
    ids, refs, hyps = _prepare(gts, res, tokenize)
    table = _NGramTable(*_tokens(refs, hyps), 4)
    out = {f"BLEU-{k + 1}": float(x) for k, x in enumerate(_bleu(table, False))}
    g = dict(zip(ids, refs))
    r = dict(zip(ids, hyps))
    out["METEOR"] = float(meteor(g, r, tokenize=False, **dict(meteor_params or {})))
    out["ROUGE-L"] = float(rouge_l(g, r, tokenize=False))
    out["CIDEr"] = float(_cider(table, 6.0, False))
    return out
