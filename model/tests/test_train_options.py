"""Training options: loss weights given on the command line."""
import pytest

import argparse

import torch

from hbi.model.config import TINY
from hbi.model.encoders import CONV_STEMS, ConvFrameEncoder, conv_features
from hbi.train.train import arch_overrides, check_init_keys, param_groups, parse_loss_weights


def test_loss_weights_parse_name_equals_number():
    assert parse_loss_weights(["qa=3", " caption = 0.5"]) == {"qa": 3.0, "caption": 0.5}
    assert parse_loss_weights([]) == {}


@pytest.mark.parametrize("bad", ["qa", "qa=", "=3", "qa=three"])
def test_malformed_loss_weight_is_a_usage_error_naming_the_form(bad):
    with pytest.raises(SystemExit, match="NAME=NUMBER"):
        parse_loss_weights([bad])


def test_init_from_may_lack_only_the_scene_heads_and_the_time_code():
    check_init_keys("a.pt", [], [])
    check_init_keys("a.pt", ["scene_head.mlp.0.weight", "frame_scene_head.mlp.1.bias"], [])
    check_init_keys("a.pt", ["video.time_code"], [])
    with pytest.raises(SystemExit, match="does not fit"):
        check_init_keys("a.pt", ["video.frame.proj.weight"], [])
    with pytest.raises(SystemExit, match="does not fit"):
        check_init_keys("a.pt", [], ["old_head.weight"])


def _args(**kw):
    base = dict(conv_stem=None, conv_channels=None, conv_pooled=False, word_ratios=None, frame_ratios=None, motion_input=None, banzhaf_target=None, time_code=False)
    base.update(kw)
    return argparse.Namespace(**base)


def test_architecture_flags_become_config_changes():
    assert arch_overrides(_args()) == {}
    got = arch_overrides(_args(conv_stem="maxpool", conv_channels="32,64,128", conv_pooled=True, word_ratios="0.3333,0.1667", frame_ratios="0.5,0.25"))
    assert got == {"conv_stem": "maxpool", "conv_channels": (32, 64, 128), "conv_pooled": True, "word_ratios": (0.3333, 0.1667), "frame_ratios": (0.5, 0.25)}
    cfg = TINY.replace(**got)
    assert cfg.conv_stem == "maxpool" and cfg.frame_ratios == (0.5, 0.25)
    assert arch_overrides(_args(time_code=True)) == {"time_code": True}


@pytest.mark.parametrize("bad", ["0.5", "0.5,x", "0.5,0.25,0.1"])
def test_malformed_ratios_are_usage_errors(bad):
    with pytest.raises(SystemExit, match="--frame-ratios expects 2"):
        arch_overrides(_args(frame_ratios=bad))


@pytest.mark.parametrize("stem", CONV_STEMS)
@pytest.mark.parametrize("pooled", [False, True])
def test_conv_stems_end_at_a_4x4_map_and_give_one_token_per_frame(stem, pooled):
    feats = conv_features(stem, (32, 64, 128))(torch.zeros(2, 3, 64, 64))
    assert feats.shape == (2, 128, 4, 4)
    enc = ConvFrameEncoder(64, (32, 64, 128), 96, pooled=pooled, stem=stem).eval()
    x = torch.randn(3, 3, 64, 64)
    y = enc(x)
    assert y.shape == (3, 96)
    # the token still depends on where things are: moving the content changes it
    assert not torch.allclose(y, enc(torch.roll(x, shifts=16, dims=-1)), atol=1e-4)


def test_pooled_path_is_nearly_position_free():
    """With only the max-pooled path, moving an object changes the token far less than with only the
    flattened path (not exactly nothing: padding makes cells near the border differ)."""
    torch.manual_seed(0)
    x = torch.zeros(1, 3, 64, 64)
    x[..., 8:24, 8:24] = 3.0
    moved = torch.roll(x, shifts=(32, 32), dims=(-2, -1))

    def change(keep: str) -> float:
        torch.manual_seed(0)
        enc = ConvFrameEncoder(64, (32, 64, 128), 96, pooled=True, stem="maxpool").eval()
        with torch.no_grad():
            (enc.proj if keep == "pool" else enc.pool_proj).weight.zero_()
            return float((enc(x) - enc(moved)).norm())

    assert change("pool") < 0.5 * change("flat")


def test_unknown_conv_stem_is_refused():
    with pytest.raises(ValueError, match="patchify"):
        conv_features("huge", (32, 64, 128))


def test_a_recipe_stands_for_its_flags_and_explicit_flags_override_it():
    from pathlib import Path

    from hbi.train.recipes import RECIPES, SCENE, expand

    out = expand(["--data", "d", "--recipe", "shipped", "--steps", "300"])
    assert out[: len(RECIPES["shipped"])] == RECIPES["shipped"] and out[-4:] == ["--data", "d", "--steps", "300"]
    assert expand(["--recipe=shipped-no-scene"]) == RECIPES["shipped-no-scene"]
    for name in RECIPES:
        if name.endswith("-no-scene"):
            assert not set(SCENE) & set(RECIPES[name]) and RECIPES[name] + SCENE == RECIPES[name.removesuffix("-no-scene")]
    # the shipped recipe is the model that sees motion, with a real (2-token) event level and exact L_BI targets
    shipped = RECIPES["shipped"]
    assert shipped[shipped.index("--motion-input") + 1] == "diff" and shipped[shipped.index("--banzhaf-target") + 1] == "exact"
    assert [a for a in shipped if a not in ("--banzhaf-target", "exact")] == RECIPES["motion"]
    assert shipped[shipped.index("--frame-ratios") + 1] == "0.5,0.5" and "--motion-input" not in RECIPES["static"]
    with pytest.raises(SystemExit, match="unknown --recipe 'fast'"):
        expand(["--recipe", "fast"])
    # the flags parse as the training command's, the last --steps wins, and the shipped script uses the recipe
    from hbi.train import train

    ap_args = arch_overrides(argparse.Namespace(conv_stem="maxpool", conv_channels="32,64,128", conv_pooled=True, motion_input="diff", banzhaf_target="exact",
                                                word_ratios=None, frame_ratios="0.5,0.5", time_code=False))
    assert ap_args["motion_input"] == "diff" and ap_args["frame_ratios"] == (0.5, 0.5) and ap_args["banzhaf_target"] == "exact"
    script = (Path(train.__file__).parents[2] / "scripts" / "train-shipped.sh").read_text()
    assert "--recipe shipped " in script


def test_ablation_rows_differ_only_in_their_switches():
    from hbi.model.config import ABLATIONS

    keys = {k for row in ABLATIONS.values() for k in row}
    assert keys == {"fine_grained", "hierarchy", "banzhaf", "reconstruction", "self_distill"}
    assert all(ABLATIONS["full"].values()) and not any(ABLATIONS["baseline"].values())
    # self-distillation comes with the full row, not with the hierarchy
    assert not ABLATIONS["hierarchy"]["self_distill"] and ABLATIONS["hierarchy"]["hierarchy"]


def test_ablation_rows_train_on_the_recipe_and_tabulate_seeds_as_mean_and_sd(tmp_path):
    from hbi.train.ablation import ROWS, figures, table, train_command

    cmd = train_command("d", tmp_path / "e0-s1", "e0", 1, ["--steps", "300"], recipe="motion")
    assert cmd[cmd.index("--recipe") + 1] == "motion-no-scene" and cmd[cmd.index("--ablation") + 1] == "full"
    assert cmd[cmd.index("--seed") + 1] == "1" and "--test" in cmd and cmd[-2:] == ["--steps", "300"]
    assert train_command("d", tmp_path / "a-s0", "a", 0, [])[4] == "shipped"
    assert all(ROWS[k][1] for k in "abcde") and not ROWS["a0"][1]

    def row(key, seed, r1, motion):
        result = {s: {"retrieval": {"t2v": {"R@1": r1}}, "qa": {"overall": 80.0, "by_type": {"direction": 70.0, "order": 60.0}}} for s in ("test", "comp")}
        binding = {s: {"twins": {"motion": motion, "order": 55.0, "binding": 90.0}} for s in ("test", "comp")}
        return {"row": key, "seed": seed, "wall_seconds": 1800.0, **figures(result, binding)}

    text = table([row("a", 0, 60.0, 50.0), row("a", 1, 62.0, 52.0), row("e", 0, 70.0, 80.0)])
    lines = [line for line in text.splitlines() if line.startswith("| (")]
    assert len(lines) == 2 and lines[0].startswith("| (a) global embedding only | 0, 1 | 61.0 ± 1.4 | 61.0 ± 1.4 | 51.0 ± 1.4 | 55.0")
    assert "| 80.0 | 70.0 | 60.0 | 30.0 |" in lines[1]


def test_an_ablation_row_stopped_after_training_resumes_at_scoring_and_is_recorded(tmp_path, monkeypatch):
    import json
    import subprocess

    from hbi.train import ablation

    ran: list[str] = []
    real_run = subprocess.run

    def fake_run(cmd, stdout=None, stderr=None, check=False, **kw):  # in-process fake of the three steps
        if "-m" not in cmd:  # git, for the commit
            return real_run(cmd, stdout=stdout, stderr=stderr, check=check, **kw)
        module = cmd[cmd.index("-m") + 1]
        ran.append(module)
        run = tmp_path / "out" / "b-s0"
        if module == "hbi.train.train":
            (run / "result.json").write_text(json.dumps({"git_commit": "c0ffee", "best_step": 1000, "test": {"retrieval": {"t2v": {"R@1": 70.0}}}}))
        elif module == "hbi.eval.binding":
            if len([m for m in ran if m == "hbi.eval.binding"]) == 1:
                raise subprocess.CalledProcessError(1, cmd)  # the first scoring fails, as a missing graph did
            (run / "binding.json").write_text(json.dumps({"test": {"twins": {"motion": 90.0, "order": 60.0, "binding": 80.0}}}))
        stdout.write("train full:  50%|##   | 500/1000\rtrain full: 100%|#####| 1000/1000\n")
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(ablation.subprocess, "run", fake_run)
    out = tmp_path / "out"
    with pytest.raises(subprocess.CalledProcessError):
        ablation.run_row("d", out, "b", 0, [], 2)
    state = json.loads((out / "b-s0" / "progress.json").read_text())
    assert ran == ["hbi.train.train", "hbi.export.package", "hbi.eval.binding"] and state["trained"] >= state["started"]
    row = ablation.run_row("d", out, "b", 0, [], 2)  # resumes: no second training
    assert ran[3:] == ["hbi.export.package", "hbi.eval.binding"]
    assert row["test"]["t2v_R@1"] == 70.0 and row["test"]["twins_binding"] == 80.0
    assert row["train_wall_seconds"] == pytest.approx(state["trained"] - state["started"], abs=0.1)
    assert row["wall_seconds"] >= row["train_wall_seconds"]
    assert ablation.run_row("d", out, "b", 0, [], 2) == row and len(ran) == 5  # finished: never run again
    target = ablation.record_row(out / "b-s0", tmp_path / "record" / "out")
    assert sorted(p.name for p in target.iterdir()) == ["binding.json", "progress.json", "result.json", "row.json", "train.log"]
    log = (target / "train.log").read_text()
    assert "100%" in log and "500/1000" not in log and log.count("$ ") == 5


def test_the_time_code_has_its_own_rate_and_no_weight_decay():
    from hbi.model.hbi import HBIModel

    plain = param_groups(HBIModel(TINY), 0.05)
    assert len(plain) == 2 and plain[0]["weight_decay"] == 0.05
    model = HBIModel(TINY.replace(time_code=True))
    groups = param_groups(model, 0.05, time_code_lr=30.0)
    assert len(groups) == 3 and groups[2] == {"params": [model.video.time_code], "weight_decay": 0.0, "lr_scale": 30.0}
    # every trainable parameter in exactly one group
    ids = [id(p) for g in groups for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters() if p.requires_grad)


def test_a_time_code_rate_without_a_time_code_is_a_usage_error_naming_the_fix(tmp_path):
    from hbi.train.train import main

    (tmp_path / "meta.json").write_text('{"answers": ["yes", "no"]}')
    (tmp_path / "tokenizer.json").write_text('{"model": {"vocab": {"a": 0, "b": 1}}}')
    with pytest.raises(SystemExit, match="add --time-code"):
        main(["--data", str(tmp_path), "--out", str(tmp_path / "run"), "--time-code-lr", "30"])
