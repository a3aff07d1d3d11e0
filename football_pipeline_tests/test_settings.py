"""Settings from the environment: every value that cannot work is named before any work starts."""

from __future__ import annotations

import pytest

from football_pipeline import settings


def test_the_defaults_and_good_values_pass(monkeypatch):
    assert settings.check_environment() == []  # conftest pins FOOTBALL_PIPELINE_TODAY to a good date
    for variable, value in (("FOOTBALL_PIPELINE_AS_OF", "2023-04-01"), ("FOOTBALL_SOURCE_MODE", "replay"),
                            ("WAREHOUSE_URL", "postgresql://user:secret@db:5432/football"),
                            ("FOOTBALL_MODELS_MAX_R_HAT", "1.05"), ("FOOTBALL_MODELS_DRAWS", "100000"),
                            ("FOOTBALL_MODELS_CHAINS", "64"), ("FOOTBALL_MODELS_COMPETITION", "SP1"),
                            ("FOOTBALL_MODELS_CADENCE", "")):  # empty: unset
        monkeypatch.setenv(variable, value)
    assert settings.check_environment() == []


@pytest.mark.parametrize(("variable", "value", "problem"), [
    ("FOOTBALL_PIPELINE_TODAY", "yesterday",
     "FOOTBALL_PIPELINE_TODAY='yesterday': not a date (expected an ISO date, e.g. 2023-04-01)"),
    ("FOOTBALL_PIPELINE_AS_OF", "2023-13-45",
     "FOOTBALL_PIPELINE_AS_OF='2023-13-45': not a date (expected an ISO date, e.g. 2023-04-01)"),
    ("FOOTBALL_SOURCE_MODE", "online", "FOOTBALL_SOURCE_MODE='online': not a source mode (one of bundled, live, replay)"),
    ("WAREHOUSE_URL", "postgresql://bob:secret@db:port/x",
     "WAREHOUSE_URL='postgresql://bob:***@db:port/x' is not a database URL (e.g. sqlite:///path/warehouse.sqlite "
     "or postgresql://user:password@host:5432/database)"),
    ("FOOTBALL_MODELS_MAX_R_HAT", "inf",
     "model settings: FOOTBALL_MODELS_MAX_R_HAT=inf: Input should be a finite number (greater than 1.0 and at most 1.1)"),
    ("FOOTBALL_MODELS_MAX_R_HAT", "nan",
     "model settings: FOOTBALL_MODELS_MAX_R_HAT=nan: Input should be a finite number (greater than 1.0 and at most 1.1)"),
    ("FOOTBALL_MODELS_MAX_R_HAT", "2", "model settings: FOOTBALL_MODELS_MAX_R_HAT=2.0: Input should be less than or "
                                       "equal to 1.1"),
    ("FOOTBALL_MODELS_MIN_ESS", "inf", "model settings: FOOTBALL_MODELS_MIN_ESS=inf: Input should be a finite number "
                                      "(at least 0)"),
    ("FOOTBALL_MODELS_DRAWS", str(10**9),
     "model settings: FOOTBALL_MODELS_DRAWS=1000000000: Input should be less than or equal to 100000"),
    ("FOOTBALL_MODELS_BACKTEST_DRAWS", "10^9", "model settings: FOOTBALL_MODELS_BACKTEST_DRAWS='10^9': not a valid int"),
    ("FOOTBALL_MODELS_WARMUP", "1000000",
     "model settings: FOOTBALL_MODELS_WARMUP=1000000: Input should be less than or equal to 100000"),
    ("FOOTBALL_MODELS_CHAINS", "1000", "model settings: FOOTBALL_MODELS_CHAINS=1000: Input should be less than or "
                                       "equal to 64"),
    ("FOOTBALL_MODELS_COMPETITION", "X9", "model settings: FOOTBALL_MODELS_COMPETITION='X9': unknown competition 'X9' "
                                          "(known: E0, E1, SP1, D1, I1, F1, N1)"),
    ("FOOTBALL_MODELS_EVALUATION_SEASONS", "2022-23",
     "model settings: FOOTBALL_MODELS_EVALUATION_SEASONS='2022-23': evaluation season '2022-23' is not a season "
     "(expected the years it spans, e.g. 2022-2023)"),
    ("FOOTBALL_MODELS_AS_OF", "2023-04-01", "model settings: FOOTBALL_MODELS_AS_OF='2023-04-01': not a model setting "
                                            "(the as-of date is FOOTBALL_PIPELINE_AS_OF)"),
])
def test_a_value_that_cannot_work_is_named_with_what_is_accepted(monkeypatch, variable, value, problem):
    monkeypatch.setenv(variable, value)
    assert settings.check_environment() == [problem]


def test_every_problem_is_listed_at_once(monkeypatch):
    monkeypatch.setenv("FOOTBALL_PIPELINE_TODAY", "yesterday")
    monkeypatch.setenv("FOOTBALL_MODELS_DRAW", "2000")  # a typo of FOOTBALL_MODELS_DRAWS
    monkeypatch.setenv("FOOTBALL_MODELS_CHAINS", "0")
    problems = settings.check_environment()
    assert [p.split(":")[0].split("=")[0] for p in problems] == [
        "FOOTBALL_PIPELINE_TODAY", "model settings", "model settings"]
    assert problems[1].startswith("model settings: FOOTBALL_MODELS_DRAW='2000': not a model setting (known: "
                                  "FOOTBALL_MODELS_BACKTEST_DRAWS, ")
    assert problems[2] == "model settings: FOOTBALL_MODELS_CHAINS=0: Input should be greater than or equal to 2"


def test_the_dates_name_their_variable_where_they_are_read(monkeypatch):
    monkeypatch.setenv("FOOTBALL_PIPELINE_TODAY", "yesterday")
    with pytest.raises(ValueError, match=r"^FOOTBALL_PIPELINE_TODAY='yesterday': not a date"):
        settings.today()
    monkeypatch.setenv("FOOTBALL_PIPELINE_AS_OF", "2023-13-45")
    with pytest.raises(ValueError, match=r"^FOOTBALL_PIPELINE_AS_OF='2023-13-45': not a date"):
        settings.as_of_date()


def test_the_models_resource_refuses_the_same_values(monkeypatch):
    """The checks live in the resource: the Dagster launchpad and the code location's load refuse them too."""
    from football_pipeline.resources.models import ModelsResource, from_environment

    for field, value, reason in (("max_r_hat", float("inf"), "finite number"), ("max_r_hat", float("nan"), "finite"),
                                 ("draws", 10**9, "less than or equal to 100000"),
                                 ("chains", 65, "less than or equal to 64"),
                                 ("competition", "X9", "unknown competition 'X9'")):
        with pytest.raises(ValueError, match=reason):
            ModelsResource(**{field: value})
    monkeypatch.setenv("FOOTBALL_MODELS_MAX_R_HAT", "inf")
    with pytest.raises(ValueError, match=r"^FOOTBALL_MODELS_MAX_R_HAT=inf: Input should be a finite number"):
        from_environment()
