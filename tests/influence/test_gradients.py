"""Per-example gradients of named components, against autograd on the whole batch and on Gemma's own forward."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from proxyx.errors import ConfigError
from proxyx.influence import CountSketch, check_components, example_gradient
from proxyx.influence.gradients import causal_lm_gradient


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


@pytest.fixture
def tiny_gemma():
    """A real Gemma 3 (transformers' architecture, tied embeddings, random weights), small enough to test exactly."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    cfg = Gemma3TextConfig(vocab_size=300, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                           num_attention_heads=2, num_key_value_heads=1, head_dim=16, pad_token_id=0,
                           tie_word_embeddings=True)
    return Gemma3ForCausalLM(cfg).eval()


def _plain(model, prompt, target):
    """The label-token cross-entropy gradient of every parameter by plain autograd on the model's own forward."""
    ids = torch.tensor([prompt + target])

    def loss():
        logits = model(input_ids=ids, use_cache=False).logits[0, len(prompt) - 1 : -1]
        return torch.nn.functional.cross_entropy(logits, ids[0, len(prompt):])
    return example_gradient(model, loss, [n for n, _ in model.named_parameters()])


def test_the_factored_embedding_gradient_is_the_dense_one(tiny_gemma):
    names = [n for n, _ in tiny_gemma.named_parameters()]
    prompt, target = [2, 5, 7, 9, 5, 11, 0, 13], [17, 19]  # a repeated token, and the padding id (no gradient)
    mine = causal_lm_gradient(tiny_gemma, prompt, target, names)
    plain = _plain(tiny_gemma, prompt, target)
    emb = "model.embed_tokens.weight"
    assert list(mine.embedding) == [emb] and emb not in mine.dense
    dense_emb = torch.cat(list(mine.embedding[emb].blocks())).reshape(plain[emb].shape)
    assert torch.allclose(dense_emb, plain[emb], atol=1e-5)
    assert not torch.allclose(dense_emb, torch.zeros_like(dense_emb))
    for n in mine.dense:
        assert torch.allclose(mine.dense[n], plain[n], atol=1e-5), n
    other_prompt, other_target = [2, 5, 8, 13], [19]
    other = causal_lm_gradient(tiny_gemma, other_prompt, other_target, names)
    plain_other = _plain(tiny_gemma, other_prompt, other_target)
    expected = [float((plain[n].double() * plain_other[n].double()).sum()) for n in names]
    assert mine.dots(other, names) == pytest.approx(expected, rel=1e-5)
    held = mine.compact()  # bfloat16 body: inner products stay within half-precision rounding
    assert held.dots(other, names) == pytest.approx(expected, rel=2e-2)


def test_a_sketch_of_the_factors_is_the_sketch_of_the_dense_gradient(tiny_gemma):
    names = [n for n, _ in tiny_gemma.named_parameters()]
    mine = causal_lm_gradient(tiny_gemma, [2, 5, 7, 9], [17], names)
    plain = _plain(tiny_gemma, [2, 5, 7, 9], [17])
    sketch = CountSketch(dim=64, seed=0)
    assert np.allclose(sketch.project(mine.blocks(names)), sketch.project(plain), atol=1e-5)


def test_a_restricted_gradient_skips_the_embedding(tiny_gemma):
    names = ["model.layers.1.mlp.down_proj.weight"]
    g = causal_lm_gradient(tiny_gemma, [2, 5, 7, 9], [17], names)
    assert g.names == names and not g.embedding
    assert torch.allclose(g.dense[names[0]], _plain(tiny_gemma, [2, 5, 7, 9], [17])[names[0]], atol=1e-6)
