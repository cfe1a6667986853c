"""Export: the shipped package replays PyTorch outputs through ONNX Runtime on real clips; dynamic
shapes; the real-size vit-b32 architecture builds, counts like CLIP ViT-B/32 + HBI, and runs."""
import hashlib
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from hbi.data.recipe import decode_clip
from hbi.export.package import export_graphs, sha256
from hbi.export.parity import parity_inputs, torch_outputs
from hbi.model.config import TINY, VIT_B32
from hbi.model.hbi import HBIModel

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "models" / "hbi-synth-tiny"
DEMO = REPO / "examples" / "demo-library"
INPUTS = {"video": ("frames", "frame_mask"), "text": ("input_ids", "attention_mask"), "qa": None, "caption": None, "interaction": None}


def session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def run_package(pkg: Path, a: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """Every graph of a package on the parity inputs, chained as the platform chains them."""
    s = {g: session(pkg / f"{g}.onnx") for g in ("video", "text", "interaction", "qa", "caption") if (pkg / f"{g}.onnx").exists()}
    names = lambda g: [o.name for o in s[g].get_outputs()]
    out = {"video": dict(zip(names("video"), s["video"].run(None, {"frames": a["frames"], "frame_mask": a["frame_mask"]})))}
    out["text"] = dict(zip(names("text"), s["text"].run(None, {"input_ids": a["input_ids"], "attention_mask": a["attention_mask"]})))
    q = s["text"].run(None, {"input_ids": a["question_ids"], "attention_mask": a["question_mask"]})[0]
    v, t = out["video"], out["text"]
    if "interaction" in s:
        out["interaction"] = {"scores": s["interaction"].run(None, {"word_tokens": t["word_tokens"], "word_weights": t["word_weights"], "word_mask": a["attention_mask"].astype(np.float32),
                                                                    "frame_tokens": v["frame_tokens"], "frame_weights": v["frame_weights"], "frame_mask": a["frame_mask"]})[0]}
    if "qa" in s:
        out["qa"] = {"answer_logits": s["qa"].run(None, {"frame_tokens": v["frame_tokens"], "frame_mask": a["frame_mask"], "question_tokens": q, "question_mask": a["question_mask"].astype(np.float32)})[0]}
    if "caption" in s:
        out["caption"] = {"logits": s["caption"].run(None, {"frame_tokens": v["frame_tokens"], "frame_mask": a["frame_mask"], "tokens": a["tokens"]})[0]}
    return out


def test_shipped_package_files_match_the_manifest():
    manifest = json.loads((PACKAGE / "manifest.json").read_text())
    assert manifest["format"] == "hbi-model-package/1"
    for name, meta in manifest["files"].items():
        assert sha256(PACKAGE / name) == meta["sha256"], name
    total = sum(p.stat().st_size for p in PACKAGE.iterdir())
    assert total < 25e6
    assert set(manifest["graphs"]) == {"video", "text", "interaction", "qa", "caption"}
    for graph in manifest["graphs"].values():  # every axis is fixed or a named contract axis
        for io in graph["inputs"] + graph["outputs"]:
            assert all(isinstance(d, int) or d in {"B", "Q", "V", "S"} for d in io["shape"]), io


def test_shipped_package_reproduces_pytorch_on_real_clips():
    """parity.json holds PyTorch's outputs on demo clips; ONNX Runtime must match them within 1e-4,
    with the frames decoded here by the shared ffmpeg recipe (their hash pins the decode too)."""
    manifest = json.loads((PACKAGE / "manifest.json").read_text())
    parity = json.loads((PACKAGE / "parity.json").read_text())
    d = manifest["dims"]
    frames = np.stack([decode_clip(str(DEMO / c["file"]), d["frames"], d["height"], d["width"]) for c in parity["clips"]])
    for f, c in zip(frames, parity["clips"]):
        assert hashlib.sha256(f.tobytes()).hexdigest() == c["frames_sha256"], "decode recipe drifted"
    from hbi.data.tokenizer import encode_batch, load_tokenizer

    tok = load_tokenizer(PACKAGE / "tokenizer.json")
    ids, mask, unknown = encode_batch(tok, parity["captions"], d["max_words"])
    qids, qmask, _ = encode_batch(tok, parity["questions"], d["max_words"])
    assert unknown == [[] for _ in parity["captions"]]
    a = {"frames": frames, "frame_mask": np.ones(frames.shape[:2], np.float32), "input_ids": ids, "attention_mask": mask,
         "question_ids": qids, "question_mask": qmask, "tokens": np.array(parity["caption_prefix"], np.int64)}
    got = run_package(PACKAGE, a)
    assert set(got) == set(parity["outputs"])
    for graph, outputs in parity["outputs"].items():
        for name, want in outputs.items():
            diff = np.abs(got[graph][name] - np.array(want)).max()
            assert diff <= 1e-4, f"{graph}.{name} differs by {diff:.2e}"


@pytest.mark.parametrize("arch", [{}, {"conv_stem": "maxpool", "conv_channels": (32, 64, 128), "conv_pooled": True},
                                  {"conv_stem": "maxpool", "conv_channels": (32, 64, 128), "conv_pooled": True, "qa_head": "clip"},
                                  {"conv_stem": "maxpool", "conv_channels": (32, 64, 128), "conv_pooled": True, "motion_input": "diff",
                                   "frame_ratios": (0.5, 0.5)},
                                  {"conv_stem": "maxpool", "conv_channels": (32, 64, 128), "conv_pooled": True, "motion_input": "diff",
                                   "frame_ratios": (0.5, 0.5), "time_code": True}],
                         ids=["patchify", "maxpool-pooled", "maxpool-pooled-clip-qa", "motion-diff-event-2", "time-code"])
def test_export_parity_with_dynamic_shapes_on_real_clips(tmp_path, arch):
    torch.manual_seed(0)
    model = HBIModel(TINY.replace(vocab_size=int(json.loads((PACKAGE / "manifest.json").read_text())["dims"]["vocab"]), answers=28, **arch)).eval()
    for m in model.modules():  # BatchNorm with non-trivial running statistics, as after training
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    if model.video.time_code is not None:  # a trained code, not the zeros it starts at
        torch.nn.init.normal_(model.video.time_code, std=0.5)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    export_graphs(model, tmp_path)
    # exporting leaves the model as it was: in eval mode, BatchNorm statistics untouched
    assert not any(m.training for m in model.modules())
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    _, a = parity_inputs(model, DEMO, PACKAGE / "tokenizer.json", clips=3)  # batch 3 (exported with 2)
    a["frame_mask"][1, 6:] = 0  # a short clip: padded frames
    a["tokens"] = np.concatenate([a["tokens"], a["tokens"][:, 1:]], axis=1)  # a longer caption prefix (S=7)
    want = torch_outputs(model, a)
    got = run_package(tmp_path, a)
    for graph, outputs in want.items():
        for name, w in outputs.items():
            assert got[graph][name].shape == w.shape
            assert np.abs(got[graph][name] - w).max() <= 1e-4, f"{graph}.{name}"


# CLIP ViT-B/32, counted from its published architecture (visual: conv1 + class/positional embeddings +
# 12 blocks of width 768 + ln_pre/ln_post + projection; text: 49,408-token embedding, 12 blocks of
# width 512, ln_final, projection) with the text context cut from 77 to L = 32 positions.
CLIP_VISUAL = 3 * 768 * 32 * 32 + 768 + 50 * 768 + 2 * 768 + 12 * (4 * 768 * 768 + 4 * 768 + 2 * 4 * 768 * 768 + 4 * 768 + 768 + 4 * 768) + 2 * 768 + 768 * 512
CLIP_TEXT = 49408 * 512 + 32 * 512 + 12 * (4 * 512 * 512 + 4 * 512 + 2 * 4 * 512 * 512 + 4 * 512 + 512 + 4 * 512) + 2 * 512 + 512 * 512


@pytest.mark.slow
def test_vit_b32_builds_counts_like_clip_and_runs(tmp_path):
    assert CLIP_VISUAL == 87_849_216  # OpenAI's ViT-B/32 image tower
    torch.manual_seed(0)
    model = HBIModel(VIT_B32).eval()
    count = lambda m: sum(p.numel() for p in m.parameters())
    assert count(model.video.frame) == CLIP_VISUAL
    assert count(model.text) == CLIP_TEXT
    hbi_modules = [model.video.frame_position, *model.video.temporal.parameters(), *model.word_weights.parameters(), *model.frame_weights.parameters(),
                   *model.global_video.parameters(), *model.global_text.parameters(), model.global_scale, *model.level_modules.parameters(),
                   *model.banzhaf_teacher.parameters(), *model.qa_levels.parameters(), *model.captioner.parameters()]
    assert count(model) == CLIP_VISUAL + CLIP_TEXT + sum(p.numel() for p in hbi_modules)
    from hbi.export.graphs import graph_specs

    sp = graph_specs(model)["video"]
    torch.onnx.export(sp["module"], sp["args"], str(tmp_path / "video.onnx"), input_names=sp["inputs"], output_names=sp["outputs"], dynamic_axes=sp["dynamic"], opset_version=17, dynamo=False)
    frames = decode_clip(str(DEMO / "clips" / "test-000000.mp4"), 12, 224, 224)[None]
    tokens, weights, emb = session(tmp_path / "video.onnx").run(None, {"frames": frames, "frame_mask": np.ones((1, 12), np.float32)})
    assert tokens.shape == (1, 12, 512) and weights.shape == (1, 12) and emb.shape == (1, 512)
    assert abs(float(np.linalg.norm(emb)) - 1.0) < 1e-4


def test_clip_checkpoint_loads_into_vit_b32(tmp_path):
    from hbi.model.clip_weights import load_clip_weights

    torch.manual_seed(0)
    model = HBIModel(VIT_B32.replace(qa=False, caption=False))
    # A checkpoint laid out like OpenAI's (77 text positions, a logit scale) with known values.
    sd = {f"visual.{k}": torch.full_like(v, 0.5) for k, v in model.video.frame.state_dict().items()}
    sd |= {k: torch.full_like(v, -0.25) for k, v in model.text.state_dict().items()}
    sd["positional_embedding"] = torch.arange(77 * 512, dtype=torch.float32).view(77, 512)
    sd["logit_scale"] = torch.tensor(4.6)
    torch.save(sd, tmp_path / "clip.pt")
    counts = load_clip_weights(model, tmp_path / "clip.pt")
    assert counts["visual"] == len(model.video.frame.state_dict()) and counts["text"] == len(model.text.state_dict())
    assert torch.all(model.video.frame.conv1.weight == 0.5)
    assert torch.equal(model.text.positional_embedding, sd["positional_embedding"][:32])
    sd["visual.proj"] = torch.zeros(768, 256)
    torch.save(sd, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="visual.proj"):
        load_clip_weights(model, tmp_path / "bad.pt")


def test_event_level_with_two_frame_tokens_exports_with_parity_on_near_duplicate_tokens(tmp_path):
    """The 8→4→2 event level (and words 32→11→6) on tokens that are exact or near duplicates, as the
    frames of a clip where little moves are: ONNX Runtime must choose the same DPC-KNN centres as
    PyTorch. Before the fix (d² as ‖a‖²+‖b‖²−2a·b, raw float comparisons) this differed by up to 0.08."""
    torch.manual_seed(0)
    cfg = TINY.replace(vocab_size=112, answers=28, frame_ratios=(0.5, 0.5), word_ratios=(1 / 3, 1 / 2))
    model = HBIModel(cfg).eval()
    assert model.level_modules[2].merge_frames.max_clusters == 2
    export_graphs(model, tmp_path)
    s = session(tmp_path / "interaction.onnx")
    g = torch.Generator().manual_seed(1)
    q, v, d = 24, 30, cfg.embed_dim
    worst = 0.0
    for eps in (1e-2, 1e-3, 1e-4, 1e-5, 0.0):
        base = torch.randn(v, 3, d, generator=g) * 3
        ft = base[torch.arange(v)[:, None], torch.randint(0, 3, (v, 8), generator=g)] + eps * torch.randn(v, 8, d, generator=g)
        fw = torch.softmax(torch.randn(v, 8, generator=g), -1)
        fm = torch.ones(v, 8)
        fm[0, 5:] = 0
        wb = torch.randn(q, 6, d, generator=g) * 3
        wt = wb[torch.arange(q)[:, None], torch.randint(0, 6, (q, 32), generator=g)] + eps * torch.randn(q, 32, d, generator=g)
        wm = (torch.arange(32)[None] < torch.randint(6, 28, (q, 1), generator=g)).float()
        ww = torch.softmax(torch.randn(q, 32, generator=g), -1) * wm
        with torch.no_grad():
            want = model.interaction(wt, ww, wm, ft, fw, fm).numpy()
        got = s.run(None, {"word_tokens": wt.numpy(), "word_weights": ww.numpy(), "word_mask": wm.numpy(),
                           "frame_tokens": ft.numpy(), "frame_weights": fw.numpy(), "frame_mask": fm.numpy()})[0]
        worst = max(worst, float(np.abs(got - want).max()))
    assert worst <= 1e-4, f"interaction differs by {worst:.2e}"
