"""``proxyx compress`` / ``proxyx clean`` in a subprocess: a table on success, one line and exit 2 on bad input."""

import subprocess
import sys

import pytest


def run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "proxyx", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


BAD = [
    ({"demonstrations": {"count": 0}}, "demonstrations.count", "zero-demonstrations"),
    ({"proxies": ["local/tfidf-lr"]}, "local/tfidf-lr reads only the input text", "text-only-proxy"),
    ({"oracle": "local/vader"}, "local/vader reads only the input text", "text-only-oracle"),
    ({"compress": {"unit": "paragraph"}}, "compress.unit", "unknown-unit"),
    ({"proxies": ["local/no-such-model"]}, "unknown model 'local/no-such-model'", "unknown-model"),
]


@pytest.mark.parametrize("command, over, message", [
    *[pytest.param(c, over, msg, id=f"{c}-{name}") for c in ("compress", "clean") for over, msg, name in BAD],
    pytest.param("compress", {"compress": {"methods": ["self_information"]}}, "self_information needs",
                 id="compress-self-information-without-gemma"),
    pytest.param("compress", {"proxies": [], "compress": {"methods": ["proxy"]}}, "'proxies' is empty",
                 id="compress-proxy-without-proxies"),
    pytest.param("compress", {"compress": {"target": "input"}}, "unit: demonstration is a unit of the prompt",
                 id="compress-input-by-demonstration"),
    pytest.param("compress", {"oracle": "local/tfidf-lr", "proxies": ["local/vader"],
                              "compress": {"target": "input", "unit": "sentence", "min_units": 500}},
                 "at least 500 sentences", id="compress-input-too-few-long-inputs"),
    pytest.param("clean", {"clean": {"poison": {"count": 7}}}, "clean.poison.count: 7 is more than the 6 demonstrations",
                 id="clean-poison-above-k"),
    pytest.param("clean", {"clean": {"poison": {"indices": [1, 6]}}}, "clean.poison.indices: [6] out of range",
                 id="clean-poison-index-out-of-range"),
])
def test_bad_input_is_one_line_and_exit_2(app_yaml, tmp_path, command, over, message):
    path = app_yaml(**over)
    out = run(command, str(path), "-q", "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and message in lines[0], out.stderr
    assert not (tmp_path / "o").exists()  # nothing written


@pytest.mark.parametrize("command, title, written", [
    pytest.param("compress", "prompt compression", ["compress.json", "compress.png", "prompt.oracle.txt"], id="compress"),
    pytest.param("clean", "poisoned demonstrations", ["clean.json", "prompt.cleaned.oracle.txt"], id="clean"),
])
def test_commands_print_a_table_and_write_their_files(app_yaml, tmp_path, command, title, written):
    path = app_yaml()
    out = run(command, str(path), "-q", "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert title in " ".join(out.stdout.split())
    for name in written:
        assert (tmp_path / "o" / name).is_file()
