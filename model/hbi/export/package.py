"""Export a trained run as a model package the platform loads (docs/model-package.md).

    python -m hbi.export.package --run runs/shipped --data .data/synthclips --out ../models/hbi-synth-tiny
    python -m hbi.export.package --preset vit-b32 --random --out /tmp/hbi-vit-b32   # real-size, random weights

Writes the five ONNX graphs, tokenizer.json, parity.json (PyTorch outputs on real demo clips, which
tests/test_export.py replays through ONNX Runtime) and manifest.json (with the sha256 of every file).
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from hbi.data.recipe import RECIPE
from hbi.export.graphs import graph_specs
from hbi.model.config import PRESETS, ModelConfig
from hbi.model.hbi import HBIModel
from hbi.provenance import git_commit, repo_relative

FORMAT = "hbi-model-package/1"
OPSET = 17
ONNX_DTYPES = {1: "float32", 2: "uint8", 7: "int64", 6: "int32", 9: "bool"}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_run(run: Path, checkpoint: str = "best.pt") -> tuple[HBIModel, dict]:
    """A validation-selected checkpoint of a training run (stage 1 `best.pt`, or `heads.pt` after
    stage 2 tuned the heads on the frozen encoder), in eval mode."""
    ck = torch.load(run / checkpoint, map_location="cpu", weights_only=False)
    model = HBIModel(ModelConfig.from_dict(ck["config"]))
    model.load_state_dict(ck["model"])
    return model.eval(), ck


def io_spec(values) -> list[dict]:
    out = []
    for v in values:
        t = v.type.tensor_type
        dims = [d.dim_param if d.dim_param else d.dim_value for d in t.shape.dim]
        out.append({"name": v.name, "dtype": ONNX_DTYPES[t.elem_type], "shape": dims})
    return out


def pin_shapes(proto: onnx.ModelProto, sp: dict) -> None:
    """Declare every graph input/output shape as the contract states it: the dynamic axes by their
    contract names (B, Q, V, S) and every other axis as its fixed size (the tracer leaves sizes it
    could not infer, e.g. D or T of an output, as anonymous symbols that a loader must refuse)."""
    with torch.no_grad():
        outs = sp["module"](*sp["args"])
    outs = outs if isinstance(outs, tuple) else (outs,)
    examples = dict(zip(sp["inputs"], sp["args"])) | dict(zip(sp["outputs"], outs))
    for value in [*proto.graph.input, *proto.graph.output]:
        dynamic = sp["dynamic"].get(value.name, {})
        dims = value.type.tensor_type.shape.dim
        for axis, size in enumerate(examples[value.name].shape):
            dims[axis].Clear()
            if axis in dynamic:
                dims[axis].dim_param = dynamic[axis]
            else:
                dims[axis].dim_value = int(size)


def export_graphs(model: HBIModel, out: Path, check: bool = True) -> dict[str, dict]:
    """Export every graph the model has; returns the manifest's `graphs` section."""
    graphs = {}
    for name, sp in graph_specs(model).items():
        path = out / f"{name}.onnx"
        with torch.no_grad():
            torch.onnx.export(sp["module"], sp["args"], str(path), input_names=sp["inputs"], output_names=sp["outputs"],
                              dynamic_axes=sp["dynamic"], opset_version=OPSET, dynamo=False, external_data=False)
        proto = onnx.load(str(path))
        pin_shapes(proto, sp)
        onnx.save(proto, str(path))
        onnx.checker.check_model(proto)
        if check:
            sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            got = sess.run(None, {k: v.numpy() for k, v in zip(sp["inputs"], sp["args"])})
            with torch.no_grad():
                ref = sp["module"](*sp["args"])
            ref = ref if isinstance(ref, tuple) else (ref,)
            worst = max(float(np.abs(g - r.numpy()).max()) for g, r in zip(got, ref))
            if worst > 1e-4:
                raise RuntimeError(f"{name}.onnx differs from PyTorch by {worst:.2e} (> 1e-4)")
        graphs[name] = {"file": path.name, "inputs": io_spec(proto.graph.input), "outputs": io_spec(proto.graph.output)}
    return graphs


def write_manifest(out: Path, cfg: ModelConfig, name: str, version: str, graphs: dict, answers: list[str], metrics: dict, provenance: dict) -> dict:
    files = {p.name: {"sha256": sha256(p), "bytes": p.stat().st_size} for p in sorted(out.iterdir()) if p.name != "manifest.json"}
    manifest = {
        "format": FORMAT,
        "name": name,
        "version": version,
        "architecture": cfg.name,
        "dims": {"embed": cfg.embed_dim, "frames": cfg.frames, "height": cfg.image_size, "width": cfg.image_size,
                 "max_words": cfg.max_words, "vocab": cfg.vocab_size, "answers": len(answers)},
        "pixel": {"mean": list(cfg.pixel_mean), "std": list(cfg.pixel_std), "scale": 255.0, "applied": "inside video.onnx"},
        "decode": RECIPE | {"frames": cfg.frames, "height": cfg.image_size, "width": cfg.image_size},
        "tokenizer": {"file": "tokenizer.json", "pad": "[PAD]", "unk": "[UNK]", "bos": "[BOS]", "eos": "[EOS]",
                      "pad_id": 0, "unk_id": 1, "bos_id": 2, "eos_id": 3, "lowercase": True},
        "answers": answers,
        "graphs": graphs,
        "interaction": {"levels": list(cfg.levels), "combine": "mean"},
        "caption": {"max_len": cfg.max_words, "decoding": ["greedy", "beam"]},
        "config": cfg.to_dict(),
        "metrics": metrics,
        "provenance": provenance,
        "files": files,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", help="training run folder with best.pt and result.json")
    ap.add_argument("--data", help="synthclips folder (tokenizer.json, meta.json)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default="hbi-synth-tiny")
    ap.add_argument("--version", default="1.0.0")
    ap.add_argument("--checkpoint", default="best.pt", help="best.pt (stage 1) or heads.pt (after hbi.train.tune_heads)")
    ap.add_argument("--demo", default=None, help="demo library folder: adds parity.json (PyTorch outputs on its clips)")
    ap.add_argument("--preset", default=None, choices=sorted(PRESETS), help="with --random: export an untrained preset")
    ap.add_argument("--random", action="store_true")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    if args.random:
        torch.manual_seed(0)
        model = HBIModel(PRESETS[args.preset or "tiny"]).eval()
        answers = [f"answer-{i}" for i in range(model.cfg.answers)]
        metrics, provenance = {}, {"command": "python -m hbi.export.package --random", "git_commit": git_commit(), "weights": "random"}
    else:
        run = Path(args.run)
        model, ck = load_run(run, args.checkpoint)
        result = json.loads((run / "result.json").read_text())
        tuned = result.get("heads_tuned") if args.checkpoint == "heads.pt" else None
        answers = json.loads((Path(args.data) / "meta.json").read_text())["answers"]
        shutil.copy(Path(args.data) / "tokenizer.json", out / "tokenizer.json")
        source = tuned if tuned is not None else result
        metrics = {s: {k: source[s][k] for k in ("retrieval", "qa", "captioning") if k in source[s]} for s in ("test", "comp") if s in source}
        # paths written from the repository root: a package records how it was built, not where
        provenance = {"command": repo_relative(result["command"] + (f" && {tuned['command']}" if tuned else "")), "data_seed": result["data_seed"], "train_seed": result["seed"],
                      "git_commit": result["git_commit"], **({"heads_git_commit": tuned["git_commit"]} if tuned and "git_commit" in tuned else {}),
                      "best_step": ck["step"], "train_seconds": result["train_seconds"],
                      "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    graphs = export_graphs(model, out)
    if args.demo:
        from hbi.export.parity import write_parity

        write_parity(model, Path(args.demo), out / "parity.json", out / "tokenizer.json", answers)
    manifest = write_manifest(out, model.cfg, args.name, args.version, graphs, answers, metrics, provenance)
    total = sum(f["bytes"] for f in manifest["files"].values())
    print(f"[export] {out}: {len(manifest['files'])} files, {total / 1e6:.1f} MB")
    return manifest


if __name__ == "__main__":
    main()
