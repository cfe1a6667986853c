"""Banzhaf interaction: exact enumeration, Monte Carlo, prediction network (METHOD.md §4)."""
import itertools

import pytest
import torch

from hbi.model.banzhaf import (BanzhafPredictor, all_coalitions, banzhaf_exact, banzhaf_kl, banzhaf_monte_carlo,
                               similarity_banzhaf_exact, similarity_banzhaf_mc, similarity_game)


def brute_force(value, n, i, j):
    """Textbook definition, one coalition at a time."""
    others = [p for p in range(n) if p not in (i, j)]
    total = 0.0
    for r in range(len(others) + 1):
        for c in itertools.combinations(others, r):
            def v(members):
                m = torch.zeros(1, n, dtype=torch.bool)
                m[0, list(members)] = True
                return float(value(m)[0])
            total += v(c + (i, j)) - v(c + (i,)) - v(c + (j,)) + v(c)
    return total / 2 ** (n - 2)


def test_exact_matches_the_definition_on_a_random_game():
    g = torch.Generator().manual_seed(0)
    table = torch.randn(2**5, generator=g)
    powers = 2 ** torch.arange(5)
    value = lambda c: table[(c.long() * powers).sum(-1)]
    got = banzhaf_exact(value, 5, [(0, 1), (2, 4), (1, 3)])
    want = torch.tensor([brute_force(value, 5, 0, 1), brute_force(value, 5, 2, 4), brute_force(value, 5, 1, 3)])
    assert torch.allclose(got, want, atol=1e-6)


def test_all_coalitions_enumerates_every_subset_once():
    c = all_coalitions(4)
    assert c.shape == (16, 4)
    assert len({tuple(r.tolist()) for r in c}) == 16


def test_dummy_player_has_zero_interaction():
    # Player 3 never changes the value: a dummy. Its interaction with anyone is exactly 0.
    w = torch.tensor([0.5, -1.0, 2.0, 0.0, 0.3])
    value = lambda c: (c.float() * w).sum(-1) ** 2 * c[:, :3].any(-1).float() + c[:, 4].float()
    b = banzhaf_exact(value, 5, [(3, 0), (3, 1), (3, 2), (3, 4)])
    assert torch.allclose(b, torch.zeros(4), atol=1e-7)
    assert banzhaf_exact(value, 5, [(0, 2)]).abs().item() > 1e-3  # a real player does interact


def test_symmetric_players_get_equal_interactions():
    m = torch.tensor([[0.9, 0.1, -0.2], [0.9, 0.1, -0.2], [0.0, 0.5, 0.4]])  # words 0 and 1 are identical
    b = similarity_banzhaf_exact(m)
    assert torch.allclose(b[0], b[1], atol=1e-7)
    assert not torch.allclose(b[0], b[2], atol=1e-3)
    # the interaction itself is symmetric in its two arguments
    value = similarity_game(m)
    assert torch.allclose(banzhaf_exact(value, 6, [(0, 4)]), banzhaf_exact(value, 6, [(4, 0)]))


@pytest.mark.parametrize("shape", [(3, 3), (6, 4), (8, 4)])
def test_monte_carlo_converges_to_exact(shape):
    g = torch.Generator().manual_seed(sum(shape))
    m = torch.rand(*shape, generator=g) * 2 - 1
    exact = similarity_banzhaf_exact(m)
    est = similarity_banzhaf_mc(m, samples=6000, generator=g)
    assert (est - exact).abs().max() < 0.03
    few = similarity_banzhaf_mc(m, samples=30, generator=g)
    assert (few - exact).abs().mean() > (est - exact).abs().mean()  # more samples, less error


def test_generic_monte_carlo_agrees_with_vectorised_similarity_estimator():
    g = torch.Generator().manual_seed(3)
    m = torch.rand(4, 3, generator=g)
    pairs = [(i, 4 + j) for i in range(4) for j in range(3)]
    generic = banzhaf_monte_carlo(similarity_game(m), 7, pairs, 4000, torch.Generator().manual_seed(5)).view(4, 3)
    assert (generic - similarity_banzhaf_exact(m)).abs().max() < 0.03


def test_prediction_network_learns_exact_banzhaf_on_small_games():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)

    def game():
        lt, tv = int(torch.randint(2, 7, (), generator=g)), int(torch.randint(2, 5, (), generator=g))
        m = torch.zeros(6, 4)
        t = torch.zeros(6, 4)
        mm = torch.rand(lt, tv, generator=g) * 2 - 1
        m[:lt, :tv] = mm
        t[:lt, :tv] = similarity_banzhaf_exact(mm)
        return m, (torch.arange(6) < lt).float(), (torch.arange(4) < tv).float(), t

    train = [game() for _ in range(256)]
    test = [game() for _ in range(64)]
    net = BanzhafPredictor()
    assert sum(p.numel() for p in net.parameters()) == 13697  # the ≈13.5k-parameter network of the paper
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    m, wm, fm, t = (torch.stack(x) for x in zip(*train))
    for _ in range(300):
        loss = ((net(m, wm, fm) - t) ** 2).sum() / (wm[:, :, None] * fm[:, None, :]).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    m, wm, fm, t = (torch.stack(x) for x in zip(*test))
    with torch.no_grad():
        pred = net(m, wm, fm)
    assert torch.all(pred[(wm[:, :, None] * fm[:, None, :]) == 0] == 0)  # padding cells stay empty
    ratio = ((pred - t) ** 2).sum() / (t**2).sum()
    assert ratio < 0.5, f"held-out MSE is {ratio:.2f} of predicting zero"


def test_banzhaf_kl_is_zero_when_distributions_match_and_positive_otherwise():
    m = torch.rand(2, 5, 3)
    wm, fm = torch.ones(2, 5), torch.ones(2, 3)
    assert banzhaf_kl(m / 0.1, m, wm, fm, tau=0.1).abs() < 1e-5
    assert banzhaf_kl(-m / 0.1, m, wm, fm, tau=0.1) > 1e-3


def test_the_game_moves_with_shifts_and_scales_of_the_matrix_as_the_standardised_predictor_assumes():
    from hbi.model.banzhaf import StandardisedBanzhafPredictor, constant_game_interaction, similarity_banzhaf_exact

    g = torch.Generator().manual_seed(3)
    for lt, tv in ((3, 2), (4, 3), (2, 4)):
        m = torch.rand(lt, tv, generator=g, dtype=torch.float64)
        base = similarity_banzhaf_exact(m)
        # B(s·m + c) = s·B(m) + c·B(ones), and B(ones) = 2^-(L+T-2) in every cell
        ones = similarity_banzhaf_exact(torch.ones(lt, tv, dtype=torch.float64)).double()
        assert torch.allclose(similarity_banzhaf_exact(2.5 * m + 0.7).double(), 2.5 * base.double() + 0.7 * ones, atol=1e-6)
        assert torch.allclose(similarity_banzhaf_exact(torch.ones(lt, tv, dtype=torch.float64)).double(),
                              constant_game_interaction(torch.tensor(lt), torch.tensor(tv)).double().expand(lt, tv).contiguous())
    # so a predictor that got B(z) right gets B(m) right: check with the exact B(z) standing in for the network
    net = StandardisedBanzhafPredictor()
    m = torch.rand(1, 4, 3, generator=g) * 0.02 + 0.3  # a trained model's narrow spread
    wm, fm = torch.ones(1, 4), torch.ones(1, 3)
    z, mu, sigma = net.standardise(m, wm, fm)
    assert abs(float(z.mean())) < 1e-5 and abs(float(z.std(unbiased=False)) - 1.0) < 1e-4
    exact_z = similarity_banzhaf_exact(z[0].double()).float()
    net.predict_z = lambda z_, wm_, fm_: exact_z[None]
    assert torch.allclose(net(m, wm, fm)[0], similarity_banzhaf_exact(m[0].double()).float(), atol=1e-5)


def test_the_batched_exact_interaction_equals_enumeration_with_padding_and_ties():
    import numpy as np

    from hbi.eval.banzhaf_check import exact_banzhaf
    from hbi.model.banzhaf import similarity_banzhaf_exact, similarity_banzhaf_exact_batch

    g = torch.Generator().manual_seed(3)
    shapes = [(6, 8), (3, 4), (1, 2), (2, 1), (9, 5), (1, 1)]  # valid (words, frames) per matrix
    L, T = 11, 8
    m = torch.rand(len(shapes), L, T, generator=g) * 2 - 1
    m[1, :, 2] = m[1, :, 0]  # a tied column
    m[4, 3] = m[4, 1]  # a tied row
    wm = torch.zeros(len(shapes), L)
    fm = torch.zeros(len(shapes), T)
    for b, (lw, tf) in enumerate(shapes):
        wm[b, :lw] = 1
        fm[b, :tf] = 1
    out = similarity_banzhaf_exact_batch(m, wm, fm)
    assert out.dtype == torch.float64 and out.shape == (len(shapes), L, T)
    for b, (lw, tf) in enumerate(shapes):
        cut = m[b, :lw, :tf]
        if lw + tf <= 12:  # full enumeration of every coalition
            assert torch.allclose(out[b, :lw, :tf].float(), similarity_banzhaf_exact(cut), atol=1e-6)
        assert np.allclose(out[b, :lw, :tf].numpy(), exact_banzhaf(cut.numpy()), atol=1e-10)
        assert out[b, lw:].abs().sum() == 0 and out[b, :, tf:].abs().sum() == 0
    # the padding may sit anywhere: a frame masked in the middle is not a player
    fm_mid = torch.ones(1, 4)
    fm_mid[0, 1] = 0
    m1 = torch.rand(1, 5, 4, generator=g)
    got = similarity_banzhaf_exact_batch(m1, torch.ones(1, 5), fm_mid)[0]
    want = similarity_banzhaf_exact(m1[0][:, [0, 2, 3]])
    assert torch.allclose(got[:, [0, 2, 3]].float(), want, atol=1e-6) and got[:, 1].abs().max() == 0


def test_the_exact_target_is_scale_free():
    from hbi.model.banzhaf import similarity_banzhaf_exact_batch, standardised_softmax_target

    g = torch.Generator().manual_seed(4)
    m = torch.rand(2, 7, 8, generator=g)
    wm, fm = torch.ones(2, 7), torch.ones(2, 8)
    wm[1, 5:] = 0
    z = standardised_softmax_target(similarity_banzhaf_exact_batch(m, wm, fm), wm, fm)
    # the game moves with its matrix: shifting and scaling it leaves the standardised target unchanged
    z2 = standardised_softmax_target(similarity_banzhaf_exact_batch(3.0 * m + 0.5, wm, fm), wm, fm)
    assert torch.allclose(z, z2, atol=1e-4)
    cell = wm[:, :, None] * fm[:, None, :]
    assert torch.allclose((z * cell).sum((1, 2)), torch.zeros(2), atol=1e-4)
    assert torch.allclose(((z * cell) ** 2).sum((1, 2)) / cell.sum((1, 2)), torch.ones(2), atol=1e-4)


def test_l_bi_with_exact_targets_needs_no_network_and_trains():
    from hbi.model.config import PRESETS
    from hbi.model.hbi import HBIModel

    cfg = PRESETS["tiny"].replace(banzhaf_target="exact")
    model = HBIModel(cfg)
    assert model.banzhaf_teacher is None
    g = torch.Generator().manual_seed(0)
    words = [(torch.randn(2, n, cfg.embed_dim, generator=g, requires_grad=True), torch.ones(2, n), None) for n in (6, 2, 1)]
    frames = [(torch.randn(2, n, cfg.embed_dim, generator=g, requires_grad=True), torch.ones(2, n), None) for n in (8, 4, 2)]
    loss = model.banzhaf_loss(words, frames)
    loss.backward()
    assert torch.isfinite(loss) and loss > 0 and words[0][0].grad.abs().sum() > 0
    with pytest.raises(ValueError, match="banzhaf_target"):
        HBIModel(cfg.replace(banzhaf_target="sampled"))
