"""Scene sampling (with twins and held-out combos) and the numpy renderer for synthclips."""
from __future__ import annotations

import copy
import math

import numpy as np

from . import grammar as G

W = H = 128
FPS = 8
FRAMES = 24
R_SMALL, R_BIG = 12.0, 18.0      # half extents in px (24 / 36 px objects)
R_GROW = (11.0, 20.0)            # grow: 22 -> 40 px, shrink the reverse
TRAVEL = 44.0                    # px travelled by a move over its step
MARGIN = 3.0

COLOUR_RGB = {
    "red": (230, 40, 40), "green": (40, 200, 60), "blue": (50, 90, 255), "yellow": (240, 230, 50),
    "purple": (170, 60, 225), "orange": (255, 140, 20), "cyan": (40, 220, 230), "white": (245, 245, 245),
}
# (colour, motion) pairs that only ever occur in the compositional split "comp"
HELD_OUT = [("red", "up"), ("green", "shrink"), ("blue", "appear"), ("yellow", "left"),
            ("purple", "grow"), ("orange", "disappear"), ("cyan", "right"), ("white", "down")]
HELD_OUT_SET = {tuple(x) for x in HELD_OUT}
SPLIT_CODES = {"train": 0, "val": 1, "test": 2, "comp": 3}

N_OBJ_P = [0.2, 0.45, 0.35]
PAIR_P = 0.52  # a unit tries to become a twin pair with this probability -> about half the clips are twins


# ---------------------------------------------------------------- timing
def step_range(step: int, n_steps: int) -> tuple[int, int]:
    L = FRAMES // n_steps
    return step * L, (step + 1) * L - 1


def obj_state(o: dict, n_steps: int, t: float) -> tuple[float, float, float, float]:
    """(x, y, half_extent, alpha) of object o at frame t."""
    t0, t1 = step_range(o["step"], n_steps)
    L = t1 - t0 + 1
    u = min(max((t - t0) / (t1 - t0), 0.0), 1.0)
    (x0, y0), (x1, y1) = o["start"], o["end"]
    x, y = x0 + (x1 - x0) * u, y0 + (y1 - y0) * u
    r = o["r_start"] + (o["r_end"] - o["r_start"]) * u
    a = 1.0
    if o["motion"] == "appear":
        ta = t0 + round(0.35 * L)
        a = min(max((t - ta + 1) / 2.0, 0.0), 1.0)
    elif o["motion"] == "disappear":
        td = t0 + round(0.65 * L)
        a = 1.0 - min(max((t - td + 1) / 2.0, 0.0), 1.0)
    return x, y, r, a


def _overlap_ok(objs: list[dict], n_steps: int) -> bool:
    for t in range(0, FRAMES, 1):
        st = [obj_state(o, n_steps, t) for o in objs]
        for i in range(len(st)):
            for j in range(i + 1, len(st)):
                xi, yi, ri, ai = st[i]
                xj, yj, rj, aj = st[j]
                if ai <= 0 or aj <= 0:
                    continue
                if math.hypot(xi - xj, yi - yj) < (ri + rj) * 1.05 + 2:
                    return False
    return True


# ---------------------------------------------------------------- sampling
def _timeline(rng: np.random.Generator, n: int) -> tuple[int, list[int]]:
    if n == 1:
        return 1, [0]
    if n == 2:
        if rng.random() < 0.55:
            return 2, [int(x) for x in rng.permutation(2)]
        return 1, [0, 0]
    u = rng.random()
    if u < 0.35:
        return 3, [int(x) for x in rng.permutation(3)]
    if u < 0.75:
        lone = int(rng.integers(3))
        first = rng.random() < 0.5  # lone object first ([1,2]) or last ([2,1])
        return 2, [(0 if first else 1) if i == lone else (1 if first else 0) for i in range(3)]
    return 1, [0, 0, 0]


def _place(o: dict, rng: np.random.Generator) -> None:
    m = o["motion"]
    rmax = max(o["r_start"], o["r_end"]) * 1.05 + MARGIN
    lo, hi = rmax, W - rmax
    dx = {"left": -TRAVEL, "right": TRAVEL}.get(m, 0.0)
    dy = {"up": -TRAVEL, "down": TRAVEL}.get(m, 0.0)
    x0 = rng.uniform(lo - min(dx, 0), hi - max(dx, 0))
    y0 = rng.uniform(lo - min(dy, 0), hi - max(dy, 0))
    o["start"] = [round(float(x0), 2), round(float(y0), 2)]
    o["end"] = [round(float(x0 + dx), 2), round(float(y0 + dy), 2)]


def _radii(size: str, motion: str) -> tuple[float, float]:
    if motion == "grow":
        return R_GROW
    if motion == "shrink":
        return R_GROW[1], R_GROW[0]
    r = R_SMALL if size == "small" else R_BIG
    return r, r


def _has_held_out(scene: dict) -> bool:
    return any((o["colour"], o["motion"]) in HELD_OUT_SET for o in scene["objects"])


def _split_ok(scene: dict, comp: bool) -> bool:
    return _has_held_out(scene) if comp else not _has_held_out(scene)


def _sample_objects(rng: np.random.Generator, comp: bool) -> tuple[int, list[dict]]:
    n = int(rng.choice(3, p=N_OBJ_P)) + 1
    n_steps, steps = _timeline(rng, n)
    colours = [G.COLOURS[int(k)] for k in rng.permutation(len(G.COLOURS))[:n]]
    shapes = [G.SHAPES[int(k)] for k in rng.permutation(len(G.SHAPES))[:n]]
    motions_allowed = G.MOTIONS if n_steps == 1 else [m for m in G.MOTIONS if m != "stay"]
    forced = int(rng.integers(n)) if comp else -1
    objs = []
    for i in range(n):
        c = colours[i]
        if i == forced:
            held = [m for (hc, m) in HELD_OUT if hc == c and m in motions_allowed]
            m = held[0] if held else None
            if m is None:  # pragma: no cover - every colour has exactly one held-out motion
                m = motions_allowed[int(rng.integers(len(motions_allowed)))]
        else:
            cand = [m for m in motions_allowed if comp or (c, m) not in HELD_OUT_SET]
            m = cand[int(rng.integers(len(cand)))]
        if m == "grow":
            size = "small"
        elif m == "shrink":
            size = "big"
        else:
            size = G.SIZES[int(rng.integers(2))]
        r0, r1 = _radii(size, m)
        objs.append({"shape": shapes[i], "colour": c, "size": size, "motion": m, "step": steps[i],
                     "r_start": r0, "r_end": r1})
    return n_steps, objs


def _sample_background(rng: np.random.Generator) -> dict:
    kind = ["plain", "gradient", "texture"][int(rng.integers(3))]
    base = [int(v) for v in rng.integers(15, 56, size=3)]
    bg = {"kind": kind, "colour": base}
    if kind == "gradient":
        bg["angle"] = round(float(rng.uniform(0, 2 * math.pi)), 3)
        bg["amplitude"] = round(float(rng.uniform(6, 14)), 2)
    elif kind == "texture":
        bg["amplitude"] = round(float(rng.uniform(4, 9)), 2)
    return bg


def _sample_distractors(rng: np.random.Generator) -> list[dict]:
    out = []
    for _ in range(int(rng.integers(2, 6))):
        r = round(float(rng.uniform(1.8, 3.5)), 2)
        x0, y0 = rng.uniform(6, W - 6, size=2)
        ang = rng.uniform(0, 2 * math.pi)
        dist = rng.uniform(8, 30)
        x1 = float(np.clip(x0 + dist * math.cos(ang), 4, W - 4))
        y1 = float(np.clip(y0 + dist * math.sin(ang), 4, H - 4))
        out.append({"shape": ["dot", "square"][int(rng.integers(2))], "grey": int(rng.integers(70, 121)),
                    "r": r, "start": [round(float(x0), 2), round(float(y0), 2)],
                    "end": [round(x1, 2), round(y1, 2)]})
    return out


def sample_scene(rng: np.random.Generator, comp: bool) -> dict:
    """A scene whose objects respect the split's held-out rule and do not overlap."""
    while True:
        n_steps, objs = _sample_objects(rng, comp)
        for _try in range(30):
            for o in objs:
                _place(o, rng)
            if _overlap_ok(objs, n_steps):
                break
        else:
            continue
        scene = {"n_steps": n_steps, "objects": objs}
        scene["background"] = _sample_background(rng)
        scene["distractors"] = _sample_distractors(rng)
        scene["noise_std"] = round(float(rng.uniform(2.0, 4.0)), 2)
        scene["render_seed"] = int(rng.integers(2**31 - 1))
        return scene


def _swap_colour(scene: dict, i: int, j: int) -> dict:
    tw = copy.deepcopy(scene)
    a, b = tw["objects"][i], tw["objects"][j]
    a["colour"], b["colour"] = b["colour"], a["colour"]
    return tw


def _swap_order(scene: dict, i: int, j: int) -> dict:
    tw = copy.deepcopy(scene)
    a, b = tw["objects"][i], tw["objects"][j]
    a["step"], b["step"] = b["step"], a["step"]
    return tw


def make_twin(scene: dict, rng: np.random.Generator, comp: bool):
    """A twin differing in one binding (colour<->motion, or event order) or None."""
    objs = scene["objects"]
    n = len(objs)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    cands = []
    for i, j in pairs:
        if objs[i]["motion"] != objs[j]["motion"]:
            cands.append(("colour", i, j))
        if objs[i]["step"] != objs[j]["step"]:
            cands.append(("order", i, j))
    order = rng.permutation(len(cands)) if cands else []
    for k in order:
        kind, i, j = cands[int(k)]
        tw = _swap_colour(scene, i, j) if kind == "colour" else _swap_order(scene, i, j)
        if not _split_ok(tw, comp):
            continue
        if kind == "order" and not _overlap_ok(tw["objects"], tw["n_steps"]):
            continue
        return kind, (i, j), tw
    return None


# ---------------------------------------------------------------- rendering
_YY, _XX = np.mgrid[0:H, 0:W].astype(np.float32) + 0.5


def _halfplanes_cov(dx, dy, planes):
    cov = None
    for nx, ny, c in planes:
        d = c - (nx * dx + ny * dy)
        v = np.clip(d + 0.5, 0.0, 1.0)
        cov = v if cov is None else np.minimum(cov, v)
    return cov


def shape_coverage(shape: str, x: float, y: float, r: float, xx=None, yy=None) -> np.ndarray:
    """Anti-aliased coverage in [0,1] of a shape centred at (x, y) with half extent r."""
    if xx is None:
        xx, yy = _XX, _YY
    dx, dy = xx - x, yy - y
    if shape in ("circle", "dot"):
        return np.clip(r - np.sqrt(dx * dx + dy * dy) + 0.5, 0.0, 1.0)
    if shape == "square":
        s = r * 0.86
        return np.clip(s - np.maximum(np.abs(dx), np.abs(dy)) + 0.5, 0.0, 1.0)
    if shape == "diamond":
        s = r * 1.2
        return np.clip((s - (np.abs(dx) + np.abs(dy))) / math.sqrt(2) + 0.5, 0.0, 1.0)
    if shape == "triangle":
        # apex A=(0,-r), base corners (+-bw, 0.8r); outward normals (+-h, -bw)/ln and (0, 1)
        h = 1.8 * r
        bw = 1.05 * r
        ln = math.hypot(h, bw)
        planes = [(0.0, 1.0, 0.8 * r),
                  (h / ln, -bw / ln, bw * r / ln),
                  (-h / ln, -bw / ln, bw * r / ln)]
        return _halfplanes_cov(dx, dy, planes)
    if shape == "cross":
        a = 0.36 * r
        adx, ady = np.abs(dx), np.abs(dy)
        c1 = np.clip(np.minimum(a - adx, r - ady) + 0.5, 0.0, 1.0)
        c2 = np.clip(np.minimum(r - adx, a - ady) + 0.5, 0.0, 1.0)
        return np.maximum(c1, c2)
    raise ValueError(shape)


def _paint(img: np.ndarray, shape: str, x: float, y: float, r: float, rgb, alpha: float = 1.0) -> None:
    """Alpha-composite a shape onto img [H,W,3] float32 inside its bounding box only."""
    ext = r * 1.25 + 2
    x0, x1 = max(int(math.floor(x - ext)), 0), min(int(math.ceil(x + ext)) + 1, W)
    y0, y1 = max(int(math.floor(y - ext)), 0), min(int(math.ceil(y + ext)) + 1, H)
    if x0 >= x1 or y0 >= y1:
        return
    cov = shape_coverage(shape, x, y, r, _XX[y0:y1, x0:x1], _YY[y0:y1, x0:x1])
    if alpha != 1.0:
        cov = cov * alpha
    win = img[y0:y1, x0:x1]
    win += cov[..., None] * (np.asarray(rgb, np.float32) - win)


def _background(scene: dict, rng: np.random.Generator) -> np.ndarray:
    bg = scene["background"]
    img = np.empty((H, W, 3), np.float32)
    img[:] = np.asarray(bg["colour"], np.float32)
    if bg["kind"] == "gradient":
        g = (np.cos(bg["angle"]) * (_XX - W / 2) + np.sin(bg["angle"]) * (_YY - H / 2)) / (W / 2)
        img += (bg["amplitude"] * g)[..., None]
    elif bg["kind"] == "texture":
        coarse = rng.standard_normal((9, 9)).astype(np.float32)
        xs = np.linspace(0, 8, W, dtype=np.float32)
        i0 = np.minimum(xs.astype(int), 7)
        f = xs - i0
        rows = coarse[:, i0] * (1 - f) + coarse[:, i0 + 1] * f          # [9, W]
        tex = rows[i0, :] * (1 - f)[:, None] + rows[i0 + 1, :] * f[:, None]  # [H, W]
        img += (bg["amplitude"] * tex)[..., None]
    return img


_BANK = None
N_BANK = 61


def _noise_bank() -> np.ndarray:
    """Fixed bank of unit Gaussian noise frames (seed 20240601); clips pick frames by render_seed."""
    global _BANK
    if _BANK is None:
        _BANK = np.random.default_rng(20240601).standard_normal((N_BANK, H, W, 3), dtype=np.float32)
    return _BANK


def render(scene: dict) -> np.ndarray:
    """uint8 [24,128,128,3] RGB frames; a pure function of the scene dict."""
    rng = np.random.default_rng(scene["render_seed"])
    bg = _background(scene, rng)
    noise_std = scene["noise_std"]
    n_steps = scene["n_steps"]
    frames = np.empty((FRAMES, H, W, 3), np.float32)
    bank = _noise_bank()
    picks = rng.integers(len(bank), size=FRAMES)
    for t in range(FRAMES):
        img = frames[t]
        img[:] = bg
        u = t / (FRAMES - 1)
        for d in scene["distractors"]:
            x = d["start"][0] + (d["end"][0] - d["start"][0]) * u
            y = d["start"][1] + (d["end"][1] - d["start"][1]) * u
            g = float(d["grey"])
            _paint(img, "dot" if d["shape"] == "dot" else "square", x, y, d["r"], (g, g, g))
        for o in scene["objects"]:
            x, y, r, a = obj_state(o, n_steps, t)
            if a <= 0:
                continue
            _paint(img, o["shape"], x, y, r, COLOUR_RGB[o["colour"]], a)
        img += bank[picks[t]] * np.float32(noise_std)
    frames += np.float32(0.5)
    np.clip(frames, 0, 255.4, out=frames)
    return frames.astype(np.uint8)  # truncation of x+0.5 = round half up


# ---------------------------------------------------------------- whole splits
def build_split(seed: int, split: str, n: int) -> list[dict]:
    """Deterministic records (without file paths) for one split: scene, captions, qa, twin."""
    code = SPLIT_CODES[split]
    comp = split == "comp"
    recs: list[dict] = []
    unit = 0
    while len(recs) < n:
        rng = np.random.default_rng([seed, code, unit])
        scene = sample_scene(rng, comp)
        group = [(scene, None)]
        if n - len(recs) >= 2 and rng.random() < PAIR_P:
            tw = make_twin(scene, rng, comp)
            if tw is not None:
                kind, (i, j), tscene = tw
                group = [(scene, (kind, [i, j])), (tscene, (kind, [i, j]))]
        text_seed = [seed, code, unit, 1]
        ids = [f"{split}-{len(recs) + k:06d}" for k in range(len(group))]
        for k, (sc, tw_info) in enumerate(group):
            rec = {"id": ids[k], "split": split,
                   "captions": G.captions(sc, np.random.default_rng(text_seed)),
                   "qa": G.questions(sc, np.random.default_rng(text_seed + [1])),
                   "scene": sc,
                   "twin": ids[1 - k] if len(group) == 2 else None,
                   "twin_kind": tw_info[0] if tw_info else None,
                   "twin_objects": tw_info[1] if tw_info else None,
                   "fps": FPS, "frames": FRAMES, "width": W, "height": H}
            recs.append(rec)
        unit += 1
    return recs
