"""Code version from git, and the config hash."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from engine import __version__
from engine.results.provenance import code_version, config_hash


def git(repo: Path, *args: str) -> str:
    cmd = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A fresh git checkout with one commit."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "a.py").write_text("x = 1\n")
    git(root, "add", "a.py")
    git(root, "commit", "-q", "-m", "first")
    return root


def test_code_version_clean_checkout_is_version_plus_commit(repo: Path) -> None:
    short = git(repo, "rev-parse", "--short", "HEAD")
    assert code_version(repo) == f"{__version__}+{short}"


def test_code_version_modified_file_is_dirty(repo: Path) -> None:
    (repo / "a.py").write_text("x = 2\n")
    assert code_version(repo).endswith("-dirty")


def test_code_version_untracked_file_is_dirty(repo: Path) -> None:
    (repo / "new_strategy.py").write_text("y = 1\n")
    assert code_version(repo) == f"{__version__}+{git(repo, 'rev-parse', '--short', 'HEAD')}-dirty"


def test_code_version_outside_git_is_package_version(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert code_version(plain) == __version__


def test_code_version_missing_folder_is_package_version(tmp_path: Path) -> None:
    assert code_version(tmp_path / "does-not-exist") == __version__


def test_config_hash_is_sha256_of_canonical_json() -> None:
    canonical = '{"a":[1,2],"b":{"c":"é","d":0.5}}'
    expected = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert config_hash({"b": {"d": 0.5, "c": "é"}, "a": [1, 2]}) == expected


def test_config_hash_changes_with_any_value() -> None:
    assert config_hash({"a": 1}) != config_hash({"a": 2})
    assert config_hash({"a": [1, 2]}) != config_hash({"a": [2, 1]})
