import proxyx

PINNED = [
    "Answer", "Attribution", "BudgetExceeded", "CallCache", "CallFailed", "Config", "ConfigError", "DataError",
    "EXPLAINERS", "Instance", "Ledger", "Model", "ModelError", "ProxyxError", "Scorer", "Segments", "build_model",
    "load_config", "make_explainer", "open_session", "run_explain", "run_screen",
]


def test_all_is_sorted_and_pinned():
    assert proxyx.__all__ == sorted(proxyx.__all__) == sorted(PINNED)


def test_every_public_name_resolves():
    for name in proxyx.__all__:
        assert getattr(proxyx, name) is not None
