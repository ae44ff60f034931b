"""Study specs (README "Studies"): the search space from the strategy's Params, narrowed, fixed or
listed by the spec, and one line naming the key and the value for anything wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.model.errors import ConfigError
from engine.model.time import to_ns
from engine.research.spec import Dimension, load_spec

GOOD = """
strategy = "ema_cross_bars"
symbols = ["BTC/USDT:USDT"]
venue = "okx"
start = 2024-01-01
end = "2024-01-11"
objective = "calmar"
trials = 40
seed = 7

[params]
fast = { low = 5, high = 50 }
slow = { low = 20, high = 400, log = true }
size = 0.5
bar_interval = ["1m", "5m"]

[walk_forward]
windows = 3
mode = "anchored"

[gate]
min_oos_sharpe = 0.5
max_pbo = 0.5
"""


def write(tmp_path: Path, text: str, name: str = "trend.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_spec_reads_its_keys_and_narrows_fixes_and_lists_the_params(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, GOOD))
    assert (spec.name, spec.strategy, spec.venue) == ("trend", "ema_cross_bars", "okx")
    assert spec.symbols == ("BTC/USDT:USDT",)
    assert (spec.start, spec.end) == (to_ns("2024-01-01"), to_ns("2024-01-11"))
    assert (spec.objective, spec.trials, spec.seed, spec.sampler, spec.min_trips) == ("calmar", 40, 7, "tpe", 5)
    # the hold-out: the last 20% of the 10 days, from 2024-01-09 on, never seen by a study
    assert spec.holdout_start == to_ns("2024-01-09")
    assert spec.space == (Dimension("fast", "int", 5.0, 50.0), Dimension("slow", "int", 20.0, 400.0, True),
                          Dimension("bar_interval", "choice", choices=("1m", "5m")))
    assert spec.fixed == {"size": 0.5}
    assert (spec.walk_forward.windows, spec.walk_forward.mode) == (3, "anchored")
    assert spec.gate == {"min_oos_sharpe": 0.5, "max_pbo": 0.5}


def test_the_median_pruner_reads_its_startup_trials_and_warmup_days(tmp_path: Path) -> None:
    plain = load_spec(write(tmp_path, GOOD))
    assert (plain.pruner, plain.pruner_startup_trials, plain.pruner_warmup_days) == ("none", 5, 0)
    text = 'pruner = "median"\npruner_startup_trials = 3\npruner_warmup_days = 2\n' + GOOD
    spec = load_spec(write(tmp_path, text))
    assert (spec.pruner, spec.pruner_startup_trials, spec.pruner_warmup_days) == ("median", 3, 2)
    # the defaults with a pruner: Optuna's five complete trials first, every day may prune
    spec = load_spec(write(tmp_path, 'pruner = "median"\n' + GOOD))
    assert (spec.pruner, spec.pruner_startup_trials, spec.pruner_warmup_days) == ("median", 5, 0)


def test_the_default_space_is_every_declared_param_with_finite_bounds(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, 'strategy = "ema_cross_bars"\nsymbols = "ETH/USDT"\nstart = 2024-01-01\n'
                                     'end = 2024-01-02\n'))
    by_name = {d.name: d for d in spec.space}
    assert by_name["fast"] == Dimension("fast", "int", 2.0, 10_000.0)
    assert by_name["slow"] == Dimension("slow", "int", 3.0, 100_000.0)
    # size has no upper bound, size_unit and bar_interval are choices: searched only when listed
    assert set(by_name) == {"fast", "slow"}
    assert spec.venue == "okx" and spec.holdout == 0.2


@pytest.mark.parametrize(("line", "message"), [
    ('objective = "sharp"', "objective = 'sharp' is not one of sharpe, sortino, calmar, pnl"),
    ("trials = 0", "trials = 0 must be a whole number >= 1"),
    ("holdout = 1.0", "holdout = 1.0 must be a share in [0, 1)"),
    ('colour = "red"', "colour = 'red' is not a key of a study spec"),
    ("[params]\nfast = { low = 60, high = 50 }", "params.fast.high = 50 is not above low 60"),
    ("[params]\nfastest = 3", "params.fastest = 3 is not a parameter of ema_cross_bars"),
    ("[params]\nfast = 1", "params.fast = 1 is refused: parameter 'fast' of strategy 'ema_cross_bars': 1 is "
                           "outside its range"),
    ('[params]\nfast = { low = 5, high = 50, step = 2 }', "params.fast.step = 2 is not low, high or log"),
    ('[walk_forward]\nmode = "sideways"', "walk_forward.mode = 'sideways' is not one of rolling, anchored"),
    ("[gate]\nmin_sharpe = 1", "gate.min_sharpe = 1 is not a gate threshold"),
    ('[gate]\nmax_pbo = "low"', "gate.max_pbo = 'low' must be a number"),
    ("[backtest]\nlatency = 5", "backtest.latency = 5 is not a key of [backtest]"),
    ('pruner = "hyperband"', "pruner = 'hyperband' is not one of none, median"),
    ("pruner_startup_trials = 3", "pruner_startup_trials = 3 is read only with a pruner (pruner = 'median')"),
    ('pruner = "median"\npruner_warmup_days = -1', "pruner_warmup_days = -1 must be a whole number >= 0"),
    ('pruner = "median"\npruner_startup_trials = 2.5', "pruner_startup_trials = 2.5 must be a whole number >= 0"),
    ('symbols = ["BTC/USDT:USDT", "BTC/USD:BTC"]\npruner = "median"',
     "pruner = 'median' needs symbols of one currency, not BTC and USDT"),
])
def test_a_bad_spec_gets_one_line_naming_the_key_and_the_value(tmp_path: Path, line: str, message: str) -> None:
    head, _, _ = GOOD.partition("[params]")
    if line.startswith("["):
        text = head + line + "\n"
    else:  # the line replaces the spec's own line of that key
        key = line.split("=")[0].strip()
        text = line + "\n" + "\n".join(x for x in GOOD.splitlines() if not x.startswith(key + " "))
    with pytest.raises(ConfigError) as err:
        load_spec(write(tmp_path, text))
    assert message in str(err.value) and "\n" not in str(err.value)
    assert str(tmp_path / "trend.toml") in str(err.value)


@pytest.mark.parametrize(("text", "message"), [
    ('strategy = "nope"\nsymbols = "ETH/USDT"\nstart = 2024-01-01\nend = 2024-01-02\n', "strategy = 'nope' is not a"),
    ('strategy = "ema_cross_bars"\nsymbols = "ETHUSDT"\nstart = 2024-01-01\nend = 2024-01-02\n',
     "symbols = 'ETHUSDT' is not a ccxt symbol"),
    ('strategy = "ema_cross_bars"\nsymbols = "ETH/USDT"\nstart = 2024-01-02\nend = 2024-01-01\n',
     "end = datetime.date(2024, 1, 1) is not after start 2024-01-02"),
    ('strategy = "ema_cross_bars"\nsymbols = "ETH/USDT"\nend = 2024-01-01\n', "start is missing"),
    ('strategy = "ema_cross_bars"\nsymbols = "ETH/USDT"\nstart = "soon"\nend = 2024-01-01\n',
     "start = 'soon' must be a UTC date or time"),
    ("strategy = \n", "not valid TOML"),
])
def test_missing_or_malformed_top_keys(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as err:
        load_spec(write(tmp_path, text))
    assert message in str(err.value)


def test_a_missing_spec_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_spec(tmp_path / "absent.toml")


def test_the_shipped_demo_study_spec_reads() -> None:
    spec = load_spec(Path(__file__).parents[3] / "research" / "studies" / "demo_trend.toml")
    assert (spec.name, spec.strategy, spec.venue, spec.trials) == ("demo_trend", "ema_cross_bars", "synthetic", 20)
    assert [d.name for d in spec.space] == ["fast", "slow"]
    assert (spec.walk_forward.windows, spec.walk_forward.trials) == (3, 6) and "min_dsr" in spec.gate
