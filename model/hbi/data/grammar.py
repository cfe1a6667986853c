"""Closed grammar of synthclips: attributes, caption templates, question templates, answers.

Every text produced here uses only words in ``VOCAB`` (checked by the tests); captions are at
most ``MAX_CAPTION_WORDS`` words so that with [BOS]/[EOS] they fit in 30 tokens.
"""
from __future__ import annotations

import re

import numpy as np

COLOURS = ["red", "green", "blue", "yellow", "purple", "orange", "cyan", "white"]
SHAPES = ["square", "circle", "triangle", "cross", "diamond"]
SIZES = ["small", "big"]
MOVES = ["left", "right", "up", "down"]
MOTIONS = ["left", "right", "up", "down", "grow", "shrink", "appear", "disappear", "stay"]
COUNTS = ["zero", "one", "two", "three"]
QA_TYPES = ["colour", "shape", "direction", "count", "order", "yesno"]
ANSWERS = sorted(set(["yes", "no"] + COLOURS + SHAPES + MOTIONS + COUNTS))

MAX_CAPTION_WORDS = 28  # + [BOS] + [EOS] = 30 tokens
N_CAPTIONS = 5

SHAPE_WORDS = {
    "square": ["square", "square", "square", "box", "block"],
    "circle": ["circle", "circle", "circle", "ball", "disk"],
    "triangle": ["triangle"],
    "cross": ["cross", "cross", "plus"],
    "diamond": ["diamond", "diamond", "rhombus"],
}
SIZE_WORDS = {"small": ["small", "small", "little"], "big": ["big", "big", "large"]}
MOTION_PHRASES = {
    "left": ["moves left", "moves to the left", "slides left", "goes left", "slides to the left"],
    "right": ["moves right", "moves to the right", "slides right", "goes right", "slides to the right"],
    "up": ["moves up", "goes up", "rises", "moves upward", "slides up"],
    "down": ["moves down", "goes down", "falls", "moves downward", "drops"],
    "grow": ["grows", "gets bigger", "expands", "becomes larger"],
    "shrink": ["shrinks", "gets smaller", "becomes smaller", "contracts"],
    "appear": ["appears", "shows up", "comes into view", "pops up"],
    "disappear": ["disappears", "vanishes", "fades away", "goes away"],
    "stay": ["stays still", "does not move", "stays in place", "remains still"],
}
# canonical 3rd person (for "the object that ...") and base form (for "does the X ...")
MOTION_3RD = {"left": "moves left", "right": "moves right", "up": "moves up", "down": "moves down",
              "grow": "grows", "shrink": "shrinks", "appear": "appears", "disappear": "disappears",
              "stay": "stays still"}
MOTION_BASE = {"left": "move left", "right": "move right", "up": "move up", "down": "move down",
               "grow": "grow", "shrink": "shrink", "appear": "appear", "disappear": "disappear",
               "stay": "stay still"}
SEQ_2 = ["{A} then {B}", "{A} and then {B}", "{A} after that {B}", "first {A} then {B}", "{A} next {B}"]
SEQ_2_REV = ["{B} after {A}"]  # only when both steps hold one object
SEQ_3 = ["{A} then {B} then {C}", "first {A} then {B} and finally {C}", "{A} then {B} after that {C}",
         "{A} next {B} then {C}", "first {A} next {B} then {C}"]
SIM_2 = ["{A} while {B}", "{A} as {B}", "{A} and at the same time {B}"]
SIM_3 = ["{A} while {B} and {C}", "{A} and {B} while {C}", "{A} as {B} and {C}"]

_EXTRA = ("a an the what colour is of object objects shape does do how many are there move act acts "
          "before after first last which together that ? one two three zero yes no and finally "
          "then next while as at same time")


def _vocab() -> list[str]:
    words: set[str] = set(_EXTRA.split())
    for lst in [COLOURS, SHAPES, SIZES, MOTIONS, COUNTS, ANSWERS]:
        words.update(lst)
    for d in [SHAPE_WORDS, SIZE_WORDS, MOTION_PHRASES]:
        for v in d.values():
            for p in v:
                words.update(p.split())
    for d in [MOTION_3RD, MOTION_BASE]:
        for p in d.values():
            words.update(p.split())
    for lst in [SEQ_2, SEQ_2_REV, SEQ_3, SIM_2, SIM_3]:
        for t in lst:
            words.update(w for w in t.split() if not w.startswith("{"))
    return sorted(words)


VOCAB = _vocab()

_WORD_RE = re.compile(r"\w+|[^\w\s]")


def words_of(text: str) -> list[str]:
    """Same split as the tokenizer's pre-tokenizer (whitespace and single punctuation marks)."""
    return _WORD_RE.findall(text.lower())


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


# ---------------------------------------------------------------- captions
def _np(o: dict, rng: np.random.Generator, size_p: float) -> str:
    det = "a" if rng.random() < 0.75 else "the"
    shape = _pick(rng, SHAPE_WORDS[o["shape"]])
    parts = [det]
    if rng.random() < size_p:
        parts.append(_pick(rng, SIZE_WORDS[o["size"]]))
    parts += [o["colour"], shape]
    if det == "a" and parts[1][0] in "aeiou":
        parts[0] = "an"
    return " ".join(parts)


def _clause(o: dict, rng: np.random.Generator, size_p: float) -> str:
    return f"{_np(o, rng, size_p)} {_pick(rng, MOTION_PHRASES[o['motion']])}"


def _step_text(objs: list[dict], rng: np.random.Generator, size_p: float) -> str:
    cl = [_clause(o, rng, size_p) for o in objs]
    if len(cl) == 1:
        return cl[0]
    if len(cl) == 2:
        return _pick(rng, SIM_2).format(A=cl[0], B=cl[1])
    return _pick(rng, SIM_3).format(A=cl[0], B=cl[1], C=cl[2])


def steps_of(scene: dict) -> list[list[int]]:
    n_steps = scene["n_steps"]
    return [[i for i, o in enumerate(scene["objects"]) if o["step"] == s] for s in range(n_steps)]


def caption(scene: dict, rng: np.random.Generator, size_p: float = 0.5) -> str:
    """One caption; the same rng state gives the same template choices for a twin scene."""
    objs = scene["objects"]
    steps = steps_of(scene)
    for attempt in range(30):
        sp = size_p if attempt < 20 else 0.0
        texts = [_step_text([objs[i] for i in st], rng, sp) for st in steps]
        if len(texts) == 1:
            out = texts[0]
        elif len(texts) == 2:
            rev_ok = all(len(st) == 1 for st in steps)
            k = int(rng.integers(len(SEQ_2) + (1 if rev_ok else 0)))
            tpl = SEQ_2[k] if k < len(SEQ_2) else SEQ_2_REV[0]
            out = tpl.format(A=texts[0], B=texts[1])
        else:
            out = _pick(rng, SEQ_3).format(A=texts[0], B=texts[1], C=texts[2])
        if len(words_of(out)) <= MAX_CAPTION_WORDS:
            return out
    raise RuntimeError("no caption fits")  # pragma: no cover - 0 size words always fit


def captions(scene: dict, rng: np.random.Generator, n: int = N_CAPTIONS) -> list[str]:
    out: list[str] = []
    for _ in range(n):
        c = caption(scene, rng)
        for _retry in range(6):
            if c not in out:
                break
            c = caption(scene, rng)
        out.append(c)
    return out


# ---------------------------------------------------------------- questions
def _refs(scene: dict, i: int, exclude: str) -> list[str]:
    """Unambiguous referring expressions for object i that do not reveal attribute ``exclude``."""
    objs = scene["objects"]
    o = objs[i]
    motion_unique = sum(1 for p in objs if p["motion"] == o["motion"]) == 1
    refs = []
    if exclude not in ("colour", "shape"):
        refs.append(f"{o['colour']} {o['shape']}")
    if exclude != "colour":
        refs.append(f"{o['colour']} object")
    if exclude != "shape":
        refs.append(o["shape"])
    if exclude != "motion" and motion_unique:
        refs.append(f"object that {MOTION_3RD[o['motion']]}")
    return refs


def _an(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _name(o: dict) -> str:
    return f"{o['colour']} {o['shape']}"


def questions(scene: dict, rng: np.random.Generator) -> list[dict]:
    objs = scene["objects"]
    n = len(objs)
    qa: list[dict] = []

    def add(q: str, a: str, t: str):
        assert a in ANSWERS, a
        qa.append({"question": q, "answer": a, "type": t})

    # colour
    i = int(rng.integers(n))
    ref = _pick(rng, _refs(scene, i, "colour"))
    tpl = _pick(rng, ["what colour is the {r}?", "what is the colour of the {r}?"])
    add(tpl.format(r=ref), objs[i]["colour"], "colour")
    # shape
    i = int(rng.integers(n))
    ref = _pick(rng, _refs(scene, i, "shape"))
    add(f"what shape is the {ref}?", objs[i]["shape"], "shape")
    # direction / motion
    i = int(rng.integers(n))
    ref = _pick(rng, _refs(scene, i, "motion"))
    add(f"what does the {ref} do?", objs[i]["motion"], "direction")
    # count
    if rng.random() < 0.5:
        add("how many objects are there?", COUNTS[n], "count")
    else:
        k = sum(1 for o in objs if o["motion"] in MOVES)
        add("how many objects move?", COUNTS[k], "count")
    # order
    if n >= 2:
        steps = steps_of(scene)
        forms = ["before", "together"]
        if len(steps) >= 2 and len(steps[0]) == 1:
            forms.append("first")
        if len(steps) >= 2 and len(steps[-1]) == 1:
            forms.append("last")
        form = _pick(rng, forms)
        i, j = (int(x) for x in rng.permutation(n)[:2])
        a, b = objs[i], objs[j]
        if form == "before":
            add(f"does the {_name(a)} act before the {_name(b)}?", "yes" if a["step"] < b["step"] else "no",
                "order")
        elif form == "together":
            add(f"do the {_name(a)} and the {_name(b)} act together?",
                "yes" if a["step"] == b["step"] else "no", "order")
        elif form == "first":
            o = objs[steps[0][0]]
            if rng.random() < 0.5:
                add("which colour acts first?", o["colour"], "order")
            else:
                add("which shape acts first?", o["shape"], "order")
        else:
            o = objs[steps[-1][0]]
            if rng.random() < 0.5:
                add("which colour acts last?", o["colour"], "order")
            else:
                add("which shape acts last?", o["shape"], "order")
    # yes/no: existence of a colour-shape binding
    i = int(rng.integers(n))
    o = objs[i]
    if rng.random() < 0.5:
        add(f"is there {_an(o['colour'])} {o['colour']} {o['shape']}?", "yes", "yesno")
    else:
        present = {(p["colour"], p["shape"]) for p in objs}
        others = [p["colour"] for p in objs if p["colour"] != o["colour"]]
        if others and rng.random() < 0.7:  # binding negative: another object's colour on this shape
            c = _pick(rng, others)
        else:
            c = _pick(rng, [c for c in COLOURS if c != o["colour"]])
        if (c, o["shape"]) in present:  # pragma: no cover - shapes are unique per clip
            c = o["colour"]
        add(f"is there {_an(c)} {c} {o['shape']}?", "yes" if (c, o["shape"]) in present else "no", "yesno")
    # yes/no: motion binding
    i = int(rng.integers(n))
    o = objs[i]
    if rng.random() < 0.5:
        m = o["motion"]
    else:
        others = [p["motion"] for p in objs if p["motion"] != o["motion"]]
        if others and rng.random() < 0.7:
            m = _pick(rng, others)
        else:
            m = _pick(rng, [x for x in MOTIONS if x != o["motion"]])
    add(f"does the {_name(o)} {MOTION_BASE[m]}?", "yes" if m == o["motion"] else "no", "yesno")
    return qa
