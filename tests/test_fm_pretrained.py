"""The shipped backbone: loads by name, matches its hashes and size, reproduces its card's metrics."""

from __future__ import annotations

import hashlib
import json
from importlib import resources

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from redist.fm import load_backbone  # noqa: E402
from redist.fm.backbone import PRETRAINED_DIR, evaluate_mpm, load_mpm_head, setup_torch  # noqa: E402
from redist.fm.pipeline import pretrain_inputs  # noqa: E402
from redist.simulate import simulate  # noqa: E402

pytestmark = pytest.mark.fm


@pytest.fixture(scope="module", autouse=True)
def _torch_setup():
    setup_torch(1)


def test_shipped_files_hashes_and_size():
    d = resources.files("redist.fm") / "pretrained" / "default"
    card = json.loads((d / "model_card.json").read_text())
    total = 0
    for name, digest in card["sha256"].items():
        data = (d / name).read_bytes()
        total += len(data)
        assert hashlib.sha256(data).hexdigest() == digest, name
    assert total <= 2 * 1024 * 1024
    for key in ("data", "objective", "pretraining", "metrics", "licence", "standardizer", "config"):
        assert key in card, key
    assert (d / "MODEL_CARD.md").read_text().startswith("# redist FM backbone")


def test_load_by_name_and_reproduce_card_metrics():
    enc, std, card = load_backbone("default")
    assert card["name"] == "default" and enc.cfg.dim == card["config"]["dim"]
    h = card["metrics"]["heldout"]
    ev = simulate(h["n_events"], kind="mixed", signal_fraction=0.3, seed=h["sim_seed"])
    inp = pretrain_inputs(ev, std)
    got = evaluate_mpm(
        enc, load_mpm_head("default"), inp["tokens"], inp["pad"], inp["kinds"], seed=h["mask_seed"]
    )
    assert got["mpm_feature_mse"] == pytest.approx(h["mpm_feature_mse"], rel=1e-3)
    assert got["kind_accuracy"] == pytest.approx(h["kind_accuracy"], abs=2e-3)
    # it learned something: better than predicting the mean (standardised features: MSE 1)
    assert got["mpm_feature_mse"] < 0.99


def test_unknown_name_is_a_named_error():
    from redist.fm import FMError

    with pytest.raises(FMError, match="no-such-backbone"):
        load_backbone("no-such-backbone")
    assert (PRETRAINED_DIR / "default").is_dir()


def test_cli_finetune_default_backbone(tmp_path):
    from click.testing import CliRunner

    from redist.cli.fm import fm

    r = CliRunner()
    res = r.invoke(fm, ["simulate", "-n", "1200", "--signal-fraction", "0.5", "--seed", "3",
                        "--output-dir", str(tmp_path / "d"), "--quiet"])  # fmt: skip
    assert res.exit_code == 0, res.output
    res = r.invoke(fm, ["finetune", "--data", str(tmp_path / "d"), "--backbone", "default", "--n-labelled", "100",
                        "--steps", "2", "--output-dir", str(tmp_path / "ft"), "--json", "--quiet"])  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["kind"] == "fm" and doc["init"] == "pretrained"
    # ONNX parity on held-out events (stated in docs/fm.md)
    assert doc["onnx_max_abs_diff"] < 1e-4
    card = json.loads((tmp_path / "ft" / "model_card.json").read_text())
    assert card["standardizer"] == load_backbone("default")[2]["standardizer"]
