"""Training options: loss weights given on the command line."""
import pytest

from hbi.train.train import check_init_keys, parse_loss_weights


def test_loss_weights_parse_name_equals_number():
    assert parse_loss_weights(["qa=3", " caption = 0.5"]) == {"qa": 3.0, "caption": 0.5}
    assert parse_loss_weights([]) == {}


@pytest.mark.parametrize("bad", ["qa", "qa=", "=3", "qa=three"])
def test_malformed_loss_weight_is_a_usage_error_naming_the_form(bad):
    with pytest.raises(SystemExit, match="NAME=NUMBER"):
        parse_loss_weights([bad])


def test_init_from_may_lack_only_the_scene_heads():
    check_init_keys("a.pt", [], [])
    check_init_keys("a.pt", ["scene_head.mlp.0.weight", "frame_scene_head.mlp.1.bias"], [])
    with pytest.raises(SystemExit, match="does not fit"):
        check_init_keys("a.pt", ["video.frame.proj.weight"], [])
    with pytest.raises(SystemExit, match="does not fit"):
        check_init_keys("a.pt", [], ["old_head.weight"])
