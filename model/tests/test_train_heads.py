"""Stage 2 (hbi.train.tune_heads): only the task heads learn; the retrieval side stays bit-identical."""
import torch

from hbi.model.config import TINY
from hbi.model.hbi import HBIModel
from hbi.train.tune_heads import head_parameters

from test_model_parts import small_batch


def test_tuning_the_heads_leaves_the_encoders_and_levels_untouched():
    torch.manual_seed(0)
    cfg = TINY.replace(vocab_size=40, answers=10)
    model = HBIModel(cfg)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    params = head_parameters(model, captions=False)
    opt = torch.optim.AdamW(params, lr=1e-2)
    batch = small_batch(cfg)
    for _ in range(3):
        f = model.encode_video(batch["frames"], batch["frame_mask"].float())[0]
        with torch.no_grad():
            q = model.encode_text(batch["question_ids"], batch["question_mask"])[0]
        loss = torch.nn.functional.cross_entropy(
            model.qa_logits(f.detach(), batch["frame_mask"].float(), q, batch["question_mask"].float()), batch["answer"])
        opt.zero_grad()
        loss.backward()
        opt.step()
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}
    assert changed and all(n.startswith("qa_levels.") for n in changed)
    assert {n for n, _ in model.qa_levels.named_parameters(prefix="qa_levels")} >= changed
