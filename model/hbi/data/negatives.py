"""Hard negative captions made by editing a caption's text alone (issue 15: order, binding, motion).

A caption's hard negative keeps its words and changes what it says about one factor the twins test:

- ``order``: two of the caption's steps (the parts between "then", "and then", "after that", "next",
  "and finally", and the "after" of "B after A") trade places: "a red box rises then a blue ball falls"
  → "a blue ball falls then a red box rises";
- ``binding``: two different colour words trade places ("the red box rises as the blue ball falls"
  → "the blue box rises as the red ball falls");
- ``motion``: one motion phrase becomes a phrase of another motion ("rises" → "slides to the left").

Only the text is read (not the clip's scene), so the same edits apply to a library's own captions with
its own lexicon, as in text-side hard-negative training for vision-language models. In training the
negatives are extra wrong captions for every clip in the batch (`hbi.model.hbi.HBIModel.losses`): a
model whose text or video embedding is blind to the order of events cannot tell them from the truth.
"""
from __future__ import annotations

import numpy as np

from . import grammar as G

KINDS = ("order", "binding", "motion")

# Longest first: "and then" is one marker, not "and" followed by the marker "then".
SEQUENCE_MARKERS: tuple[tuple[str, ...], ...] = (("and", "then"), ("after", "that"), ("and", "finally"), ("then",),
                                                 ("next",), ("after",))
LEADING_MARKERS = ("first",)
_COLOURS = frozenset(G.COLOURS)
# every motion phrase of the grammar → its motion, longest phrases first
_MOTION_OF: dict[tuple[str, ...], str] = dict(sorted(
    ((tuple(p.split()), m) for m, ps in G.MOTION_PHRASES.items() for p in ps), key=lambda pm: -len(pm[0])))


def _match(words: list[str], i: int, options) -> tuple[str, ...] | None:
    for opt in options:
        if tuple(words[i:i + len(opt)]) == opt:
            return opt
    return None


def steps_of_text(words: list[str]) -> tuple[list[str], list[list[str]], list[tuple[str, ...]]]:
    """A caption's words → (leading marker, step segments, the markers between them)."""
    lead = [words[0]] if words and words[0] in LEADING_MARKERS else []
    segments: list[list[str]] = [[]]
    markers: list[tuple[str, ...]] = []
    i = len(lead)
    while i < len(words):
        m = _match(words, i, SEQUENCE_MARKERS)
        if m is not None and segments[-1]:
            markers.append(m)
            segments.append([])
            i += len(m)
            continue
        segments[-1].append(words[i])
        i += 1
    return lead, segments, markers


def swap_order(words: list[str], rng: np.random.Generator) -> list[str] | None:
    lead, segments, markers = steps_of_text(words)
    if len(segments) < 2 or any(not s for s in segments):
        return None
    i, j = sorted(int(k) for k in rng.choice(len(segments), 2, replace=False))
    if segments[i] == segments[j]:
        return None
    segments[i], segments[j] = segments[j], segments[i]
    out = list(lead) + segments[0]
    for m, s in zip(markers, segments[1:]):
        out += list(m) + s
    return out


def swap_binding(words: list[str], rng: np.random.Generator) -> list[str] | None:
    at = [i for i, w in enumerate(words) if w in _COLOURS]
    pairs = [(a, b) for k, a in enumerate(at) for b in at[k + 1:] if words[a] != words[b]]
    if not pairs:
        return None
    a, b = pairs[int(rng.integers(len(pairs)))]
    out = list(words)
    out[a], out[b] = out[b], out[a]
    return out


def change_motion(words: list[str], rng: np.random.Generator) -> list[str] | None:
    found: list[tuple[int, int, str]] = []  # (start, length, motion)
    i = 0
    while i < len(words):
        phrase = _match(words, i, _MOTION_OF)
        if phrase is None:
            i += 1
            continue
        found.append((i, len(phrase), _MOTION_OF[phrase]))
        i += len(phrase)
    if not found:
        return None
    start, length, motion = found[int(rng.integers(len(found)))]
    other = [m for m in G.MOTIONS if m != motion]
    new = other[int(rng.integers(len(other)))]
    phrases = G.MOTION_PHRASES[new]
    return words[:start] + phrases[int(rng.integers(len(phrases)))].split() + words[start + length:]


EDITS = {"order": swap_order, "binding": swap_binding, "motion": change_motion}


def negative_caption(text: str, rng: np.random.Generator, kinds: tuple[str, ...] = KINDS) -> tuple[str, str] | None:
    """(negative caption, its kind) for ``text``, the kind drawn among ``kinds`` that apply; None when
    none applies (a one-step, one-colour caption has no order or binding to change)."""
    unknown = [k for k in kinds if k not in EDITS]
    if unknown:
        raise ValueError(f"unknown hard-negative kinds {unknown}: use {', '.join(KINDS)}")
    words = G.words_of(text)
    for k in rng.permutation(len(kinds)):
        kind = kinds[int(k)]
        out = EDITS[kind](words, rng)
        if out is not None and out != words:
            return " ".join(out), kind
    return None
