"""Stored tutorial results (docs/_ext/tutorial_results.py) and their check against the code."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tr():
    spec = importlib.util.spec_from_file_location(
        "tutorial_results", ROOT / "docs" / "_ext" / "tutorial_results.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_results_match_the_code(tr) -> None:
    """Every committed record still matches its code and parameters."""
    records = sorted((ROOT / "docs" / "tutorials" / "_results").glob("*.json"))
    assert records, "no stored tutorial results found"
    stale = tr.stale_records(ROOT / "docs" / "tutorials" / "_results")
    assert not stale, (
        f"stored tutorial results {stale} were produced by different code: recompute them with "
        "`REDIST_DOCS_RESULTS=refresh make docs` (needs the extras they use) and commit the JSON files"
    )
    for path in records:
        record = json.loads(path.read_text(encoding="utf-8"))
        assert record["name"] == path.stem
        assert {"fingerprint", "params", "depends", "code", "produced", "result"} <= set(record)


@pytest.fixture
def toy_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    src = tmp_path / "toy_dep_for_results.py"
    src.write_text("SCALE = 2\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield src
    sys.modules.pop("toy_dep_for_results", None)


def _square(x: int) -> dict[str, int]:
    return {"value": x * x}


def _boom(x: int) -> dict[str, int]:
    raise AssertionError("must not be recomputed")


def test_check_refresh_force(tr, tmp_path: Path, toy_module: Path) -> None:
    store = tmp_path / "store"
    kw = {"params": {"x": 3}, "depends": ["toy_dep_for_results"], "store": store}
    with pytest.raises(tr.StaleResult, match="is missing"):
        tr.cached("toy", _square, mode="check", **kw)
    assert tr.cached("toy", _square, mode="refresh", **kw) == {"value": 9}
    assert [p.name for p in store.iterdir()] == ["toy.json"]  # no temporary files left
    # a matching record is loaded, not recomputed (the stored compute's source is part of the key,
    # so load it with the same function)
    assert tr.cached("toy", _square, mode="check", **kw) == {"value": 9}
    with pytest.raises(tr.StaleResult, match="different code or parameters"):
        tr.cached("toy", _square, mode="check", **{**kw, "params": {"x": 4}})
    with pytest.raises(tr.StaleResult):
        tr.cached("toy", _boom, mode="check", **kw)  # other compute code
    # force recomputes even when current
    calls = []

    def counted(x: int) -> dict[str, int]:
        calls.append(x)
        return {"value": x * x}

    tr.cached("toy2", counted, mode="refresh", **kw)
    tr.cached("toy2", counted, mode="check", **kw)
    tr.cached("toy2", counted, mode="force", **kw)
    assert calls == [3, 3]


def test_dependency_source_change_makes_record_stale(tr, tmp_path: Path, toy_module: Path) -> None:
    store = tmp_path / "store"
    tr.cached("toy", _square, params={"x": 2}, depends=["toy_dep_for_results"], store=store, mode="refresh")
    assert tr.stale_records(store) == []
    toy_module.write_text("SCALE = 3\n", encoding="utf-8")
    assert tr.stale_records(store) == ["toy"]
    with pytest.raises(tr.StaleResult, match="REDIST_DOCS_RESULTS=refresh"):
        tr.cached("toy", _square, params={"x": 2}, depends=["toy_dep_for_results"], store=store, mode="check")


def test_bad_names_and_modes(tr, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="letters, digits"):
        tr.cached("../evil", _square, params={"x": 1}, store=tmp_path, mode="refresh")
    with pytest.raises(ValueError, match="REDIST_DOCS_RESULTS"):
        tr.cached("ok", _square, params={"x": 1}, store=tmp_path, mode="sometimes")
