"""Question-answering accuracy, overall and per question type."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["normalize_answer", "qa_accuracy"]


def normalize_answer(a: str) -> str:
    """Lower-case, strip, and collapse runs of whitespace to one space."""
    return " ".join(str(a).lower().split())


def qa_accuracy(pred: Sequence[str], gold: Sequence[str], types: Sequence[str], *,
                normalize: bool = True) -> dict:
    """Exact-match answer accuracy.

    Args:
        pred: ``[N]`` predicted answers.
        gold: ``[N]`` gold answers.
        types: ``[N]`` question type of each item (e.g. "what", "count", "color").
        normalize: compare after :func:`normalize_answer` (case/whitespace-insensitive);
            ``False`` compares the strings as given.

    Returns:
        ``{"overall": percent correct over all N items,
           "by_type": {type: percent correct within that type},
           "counts": {"total": N, "correct": C,
                      "by_type": {type: {"total": n_t, "correct": c_t}}}}``
        Types appear in order of first occurrence. ``overall`` is NaN when N = 0.
    """
    if not (len(pred) == len(gold) == len(types)):
        raise ValueError(f"pred, gold and types differ in length: {len(pred)}, {len(gold)}, {len(types)}")
    norm = normalize_answer if normalize else (lambda x: x)
    per: dict[str, dict[str, int]] = {}
    correct = 0
    for p, g, t in zip(pred, gold, types):
        ok = int(norm(p) == norm(g))
        d = per.setdefault(t, {"total": 0, "correct": 0})
        d["total"] += 1
        d["correct"] += ok
        correct += ok
    n = len(pred)
    return {
        "overall": 100.0 * correct / n if n else float("nan"),
        "by_type": {t: 100.0 * d["correct"] / d["total"] for t, d in per.items()},
        "counts": {"total": n, "correct": correct, "by_type": per},
    }
