"""Evaluation metrics for HBI: retrieval, video QA and captioning.

One import point for the three groups, which live in their own modules:

* :mod:`hbi.eval.retrieval` -- :func:`retrieval_metrics` (R@1/5/10, MdR, MnR) and
  :func:`t2v_v2t` (text->video / video->text with several texts per video);
* :mod:`hbi.eval.qa` -- :func:`qa_accuracy` (overall and per question type);
* :mod:`hbi.eval.captioning` -- :func:`caption_metrics` (BLEU-1..4, METEOR, ROUGE-L,
  CIDEr-D) and the individual scorers, matching pycocoevalcap's numbers (METEOR:
  exact-match-only re-implementation, see :func:`meteor`).
"""

from hbi.eval.captioning import (
    FUNCTION_WORDS,
    METEOR_1_5,
    METEOR_2005,
    bleu,
    caption_metrics,
    cider_d,
    meteor,
    rouge_l,
    tokenize,
)
from hbi.eval.qa import normalize_answer, qa_accuracy
from hbi.eval.retrieval import metrics_from_ranks, ranks_of_correct, retrieval_metrics, t2v_v2t

__all__ = [
    "retrieval_metrics",
    "t2v_v2t",
    "ranks_of_correct",
    "metrics_from_ranks",
    "qa_accuracy",
    "normalize_answer",
    "caption_metrics",
    "bleu",
    "meteor",
    "rouge_l",
    "cider_d",
    "tokenize",
    "FUNCTION_WORDS",
    "METEOR_1_5",
    "METEOR_2005",
]
