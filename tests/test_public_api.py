from __future__ import annotations

import freight


def test_all_is_sorted_and_complete() -> None:
    assert freight.__all__ == sorted(freight.__all__, key=lambda n: (not n.isupper(), n))
    for name in freight.__all__:
        assert hasattr(freight, name), name


def test_errors_share_one_root() -> None:
    errors = [getattr(freight, n) for n in freight.__all__ if n.endswith("Error")]
    assert all(issubclass(e, freight.FreightError) for e in errors)
    assert issubclass(freight.ConfigError, ValueError)
    assert issubclass(freight.ObjectNotFoundError, FileNotFoundError)


def test_core_never_imports_an_orchestrator() -> None:
    import pathlib

    src = pathlib.Path(freight.__file__).parent
    for path in src.rglob("*.py"):
        text = path.read_text()
        for name in ("airflow", "prefect", "dagster"):
            assert f"import {name}" not in text and f"from {name}" not in text, path
