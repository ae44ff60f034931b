"""The study journal (engine/research/journal.py): Optuna's format, no fsync, a cut record dropped."""

from __future__ import annotations

import os
from pathlib import Path

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from engine.research.journal import JournalFile


def _run(path: Path, trials: int, name: str = "s") -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(study_name=name, storage=JournalStorage(JournalFile(str(path))),
                                sampler=optuna.samplers.RandomSampler(seed=1), load_if_exists=True)

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -1.0, 1.0)
        trial.set_user_attr("square", x * x)
        return x * x

    study.optimize(objective, n_trials=trials)
    return study


def _stock(path: Path, name: str = "s") -> list[optuna.trial.FrozenTrial]:
    """The trials as Optuna's own journal reader sees them."""
    return optuna.load_study(study_name=name, storage=JournalStorage(JournalFileBackend(str(path)))).trials


def test_journal_is_optunas_format_and_never_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fsync(fd: int) -> None:
        raise AssertionError("the study journal called fsync")

    monkeypatch.setattr(os, "fsync", no_fsync)
    path = tmp_path / "journal.log"
    study = _run(path, 6)
    read = _stock(path)
    assert [t.state for t in read] == [TrialState.COMPLETE] * 6
    assert [t.params for t in read] == [t.params for t in study.trials]
    assert [t.user_attrs["square"] for t in read] == [t.value for t in study.trials]


def test_a_record_cut_by_a_crash_is_dropped_and_the_study_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "journal.log"
    _run(path, 3)
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"op_code":5,"worker_id":"crashed","trial_id":0,"user_at')  # a crash mid-record
    assert len(_stock(path)) == 3  # Optuna skips a cut last line...
    _run(path, 2)  # ...and appending after it must not glue a record onto it
    read = _stock(path)
    assert len(read) == 5 and all(t.state is TrialState.COMPLETE for t in read)
    assert path.read_bytes().startswith(whole) and b"crashed" not in path.read_bytes()


def test_a_journal_cut_inside_its_first_record_starts_empty(tmp_path: Path) -> None:
    path = tmp_path / "journal.log"
    path.write_bytes(b'{"op_code":0,"worker_id"')
    _run(path, 2)
    assert len(_stock(path)) == 2
