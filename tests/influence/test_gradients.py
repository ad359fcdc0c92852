"""Per-example gradients of named components, against autograd on the whole batch."""

from __future__ import annotations

import pytest
import torch

from proxyx.errors import ConfigError
from proxyx.influence import check_components, example_gradient


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    x = torch.randn(6, 4)
    y = torch.tensor([0, 2, 1, 1, 0, 2])
    return model, x, y


def _loss(model, x, y):
    return lambda: torch.nn.functional.cross_entropy(model(x), y, reduction="sum")


def test_per_example_gradients_sum_to_the_batch_gradient(tiny):
    model, x, y = tiny
    names = [n for n, _ in model.named_parameters()]
    per = [example_gradient(model, _loss(model, x[i : i + 1], y[i : i + 1]), names) for i in range(len(x))]
    batch = torch.autograd.grad(_loss(model, x, y)(), list(model.parameters()))
    for name, g in zip(names, batch):
        assert torch.allclose(sum(p[name] for p in per), g, atol=1e-6)


def test_per_example_gradients_match_torch_func_per_sample(tiny):
    model, x, y = tiny
    params = {n: p.detach() for n, p in model.named_parameters()}

    def one(p, xi, yi):
        out = torch.func.functional_call(model, p, (xi[None],))
        return torch.nn.functional.cross_entropy(out, yi[None])

    per_sample = torch.func.vmap(torch.func.grad(one), in_dims=(None, 0, 0))(params, x, y)
    for i in range(len(x)):
        mine = example_gradient(model, _loss(model, x[i : i + 1], y[i : i + 1]), list(params))
        for name in params:
            assert torch.allclose(mine[name], per_sample[name][i], atol=1e-6)
    assert not torch.allclose(per_sample["2.weight"][0], per_sample["2.weight"][1])  # examples differ


def test_restricted_gradient_is_the_same_slice_and_leaves_requires_grad_as_it_was(tiny):
    model, x, y = tiny
    model[0].bias.requires_grad_(False)
    full = example_gradient(model, _loss(model, x[:1], y[:1]), [n for n, _ in model.named_parameters()])
    only = example_gradient(model, _loss(model, x[:1], y[:1]), ["2.weight"])
    assert list(only) == ["2.weight"] and torch.equal(only["2.weight"], full["2.weight"])
    assert [p.requires_grad for p in model.parameters()] == [True, False, True, True]


def test_unknown_component_names_the_valid_ones_on_one_line():
    with pytest.raises(ConfigError) as e:
        check_components(["layers.0.mlp"], ["a.weight", "b.weight"])
    msg = str(e.value)
    assert "'layers.0.mlp'" in msg and "a.weight, b.weight" in msg and "\n" not in msg
