"""The consumer queries (sql/examples/) and the latest_predictions view, on SQLite, PostgreSQL and
TimescaleDB, over a small warehouse of real-shaped predictions, odds and evaluations."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from football_pipeline.serving import queries
from football_pipeline.warehouse import engine as engines
from football_pipeline.warehouse import migrate, schema
from football_pipeline_tests.serving import data


@pytest.fixture
def served(warehouse: sa.Engine) -> sa.Engine:
    migrate.upgrade(warehouse)
    with warehouse.begin() as connection:
        data.populate(connection)
    return warehouse


def _pcts(row) -> tuple[float, float, float]:
    return row["home_win_pct"], row["draw_pct"], row["away_win_pct"]


def _expected_pcts(competition, home, away, version) -> tuple[float, float, float]:
    i = next(i for i, f in enumerate(data.FIXTURES) if f[:3] == (competition, home, away))
    return data.probabilities(i + (15 if version == "2" else 0))


def test_latest_predictions_keeps_the_newest_version_per_match_and_model(served):
    with served.begin() as connection:
        # a tie on predicted_at: the higher model version wins
        tie = data.prediction("SP1", "barcelona", "sevilla", data.at(8, 18), "dixon_coles", "1b",
                              data.at(28, 9, month=2), data.probabilities(33))
        connection.execute(schema.predictions.insert(), [tie])
    with served.connect() as connection:
        rows = connection.execute(sa.text(
            "SELECT match_id, model_name, model_version FROM latest_predictions")).all()
        total = connection.execute(sa.text("SELECT count(*) FROM predictions")).scalar_one()
    latest = {(m, n): v for m, n, v in rows}
    assert len(latest) == len(rows), "one row per (match_id, model_name)"
    assert total == len(rows) + 6 + 1  # six E0 fixtures republished as version 2, one tie
    assert latest[(data.match_id("E0", "arsenal", "liverpool"), "dixon_coles")] == "2"
    assert latest[(data.match_id("E0", "arsenal", "chelsea"), "dixon_coles")] == "1"  # never republished
    assert latest[(data.match_id("E0", "arsenal", "liverpool"), "xgboost")] == "7"
    assert latest[(data.match_id("SP1", "barcelona", "sevilla"), "dixon_coles")] == "1b"
    assert latest[(data.match_id("SP1", "valencia", "real-madrid"), "dixon_coles")] == "1"


def test_next_matchday_returns_only_each_competitions_next_round_with_odds(served):
    rows = queries.next_matchday(served, as_of=data.AS_OF, competition_id="E0", model_name="dixon_coles")
    assert [r["match_id"] for r in rows] == data.NEXT_MATCHDAY["E0"]  # Friday to Monday, not Tuesday
    for row in rows:
        assert sum(_pcts(row)) == pytest.approx(100, abs=0.1)
        assert row["model_version"] == "2"
        assert _pcts(row) == pytest.approx(_expected_pcts("E0", row["home_team_id"], row["away_team_id"], "2"))
        assert row["kickoff_at"] > data.AS_OF and row["kickoff_at"].tzinfo is not None
        assert row["competition"] == "Premier League"

    by_match = {r["match_id"]: r for r in rows}
    big = by_match[data.match_id("E0", "arsenal", "liverpool")]
    assert (big["home_team"], big["away_team"]) == ("Arsenal", "Liverpool")
    assert big["kickoff_at"] == data.at(8, 15)
    # Pinnacle: closing beats opening; the market average only has opening prices
    assert big["pinnacle_phase"] == "closing"
    assert (big["pinnacle_home"], big["pinnacle_draw"], big["pinnacle_away"]) == data.PINNACLE_CLOSING
    assert big["market_avg_phase"] == "opening"
    assert (big["market_avg_home"], big["market_avg_draw"], big["market_avg_away"]) == data.AVERAGE_OPENING["arsenal"]
    inverse = [1 / p for p in data.PINNACLE_CLOSING]
    implied = [100 * x / sum(inverse) for x in inverse]
    market = [big["market_home_pct"], big["market_draw_pct"], big["market_away_pct"]]
    assert market == pytest.approx(implied) and sum(market) == pytest.approx(100)

    early = by_match[data.match_id("E0", "everton", "fulham")]
    assert early["pinnacle_phase"] is None and early["pinnacle_home"] is None  # incomplete quote left out
    inverse = [1 / p for p in data.AVERAGE_OPENING["everton"]]
    assert early["market_home_pct"] == pytest.approx(100 * inverse[0] / sum(inverse))

    bare = by_match[data.match_id("E0", "chelsea", "brentford")]
    assert bare["pinnacle_home"] is None and bare["market_avg_home"] is None and bare["market_home_pct"] is None


def test_next_matchday_of_every_competition_and_every_model(served):
    rows = queries.next_matchday(served, as_of=data.AS_OF, model_name="dixon_coles")
    assert [r["match_id"] for r in rows] == data.NEXT_MATCHDAY["E0"] + data.NEXT_MATCHDAY["SP1"]
    assert {r["model_version"] for r in rows if r["competition_id"] == "SP1"} == {"1"}

    every_model = queries.next_matchday(served, as_of=data.AS_OF, competition_id="E0")
    assert sorted((r["match_id"], r["model_name"]) for r in every_model) == sorted(
        [(m, "dixon_coles") for m in data.NEXT_MATCHDAY["E0"]]
        + [(data.match_id("E0", "arsenal", "liverpool"), "xgboost"),
           (data.match_id("E0", "chelsea", "brentford"), "xgboost")]
    )
    assert all(sum(_pcts(r)) == pytest.approx(100, abs=0.1) for r in every_model)

    # a day later the Friday match is played: the round is the remaining two, not Tuesday's
    later = queries.next_matchday(served, as_of=data.at(7, 22), competition_id="E0", model_name="dixon_coles")
    assert [r["match_id"] for r in later] == data.NEXT_MATCHDAY["E0"][1:]
    # after Monday: the Tuesday/Wednesday round
    midweek = queries.next_matchday(served, as_of=data.at(10, 23), competition_id="E0", model_name="dixon_coles")
    assert [r["match_id"] for r in midweek] == [
        data.match_id("E0", "fulham", "arsenal"), data.match_id("E0", "brentford", "everton"),
        data.match_id("E0", "liverpool", "chelsea")]
    assert queries.next_matchday(served, as_of=data.at(20, 0), competition_id="E0") == []


def test_parameters_are_bound_not_formatted(served):
    hostile = "E0' OR '1'='1"
    assert queries.next_matchday(served, as_of=data.AS_OF, competition_id=hostile) == []
    assert queries.team_upcoming(served, "arsenal' OR '1'='1", as_of=data.AS_OF) == []
    with pytest.raises(TypeError, match="missing"):
        queries.run(served, "team_upcoming", as_of=data.AS_OF, model_name=None)
    with pytest.raises(KeyError, match="next_matchday"):
        queries.sql("../002_tables")


def test_team_upcoming_from_the_teams_side(served):
    rows = queries.team_upcoming(served, "arsenal", as_of=data.AS_OF, model_name="dixon_coles")
    assert [(r["match_id"], r["venue"], r["opponent"]) for r in rows] == [
        (data.match_id("E0", "arsenal", "liverpool"), "home", "Liverpool"),
        (data.match_id("E0", "fulham", "arsenal"), "away", "Fulham"),
    ]
    home, away = rows
    h = _expected_pcts("E0", "arsenal", "liverpool", "2")
    a = _expected_pcts("E0", "fulham", "arsenal", "2")
    assert (home["win_pct"], home["draw_pct"], home["loss_pct"]) == pytest.approx(h)
    assert (away["win_pct"], away["draw_pct"], away["loss_pct"]) == pytest.approx((a[2], a[1], a[0]))
    assert away["expected_goals_for"] == pytest.approx(1.0 + a[2] / 100)
    for row in rows:
        assert row["win_pct"] + row["draw_pct"] + row["loss_pct"] == pytest.approx(100, abs=0.1)
        assert row["model_version"] == "2"
    # a La Liga team; and the past match is gone once as_of passes it
    assert [r["opponent_id"] for r in queries.team_upcoming(served, "sevilla", as_of=data.AS_OF)] == [
        "barcelona", "valencia"]
    assert queries.team_upcoming(served, "arsenal", as_of=data.at(12, 0), model_name="dixon_coles") == []


def test_model_vs_market_by_month(served):
    rows = queries.model_vs_market_by_month(served, competition_id="E0")
    got = {(r["month"], r["model_name"]): r for r in rows}
    assert list(got) == [("2025-01", "dixon_coles"), ("2025-02", "dixon_coles"), ("2025-02", "xgboost")]
    january = got[("2025-01", "dixon_coles")]
    assert january["n_matches"] == 200 and january["evaluations"] == 2
    assert january["rps"] == pytest.approx((0.20 * 50 + 0.22 * 150) / 200)
    assert january["market_rps"] == pytest.approx((0.19 * 50 + 0.20 * 150) / 200)
    assert january["rps_edge"] == pytest.approx(january["market_rps"] - january["rps"])
    assert january["rps_edge"] < 0  # the market was better in January
    assert got[("2025-02", "dixon_coles")]["rps_edge"] == pytest.approx(0.01)
    assert got[("2025-01", "dixon_coles")]["accuracy"] == pytest.approx((0.50 * 50 + 0.46 * 150) / 200)

    spain = queries.model_vs_market_by_month(served, competition_id="SP1", model_name="dixon_coles")
    assert [(r["month"], r["n_matches"]) for r in spain] == [("2025-01", 80)]
    assert spain[0]["rps_edge"] == pytest.approx(0.02)
    assert len(queries.model_vs_market_by_month(served)) == 4


def test_every_example_file_is_runnable_by_name():
    assert queries.names() == ["model_vs_market_by_month", "next_matchday", "team_upcoming"]
    for name in queries.names():
        params = queries.parameters_of(queries.statement(name))
        assert params <= set(queries.PARAMETER_TYPES)
        assert "--" not in str(queries.statement(name))


def test_as_of_accepts_naive_aware_and_date(served):
    aware = queries.next_matchday(served, as_of=data.at(7, 21, month=3).astimezone(
        dt.timezone(dt.timedelta(hours=1))), competition_id="E0", model_name="dixon_coles")
    naive = queries.next_matchday(served, as_of=dt.datetime(2025, 3, 7, 21), competition_id="E0",
                                  model_name="dixon_coles")
    assert [r["match_id"] for r in aware] == [r["match_id"] for r in naive] == data.NEXT_MATCHDAY["E0"][1:]
    by_date = queries.next_matchday(served, as_of=dt.date(2025, 3, 1), competition_id="E0", model_name="dixon_coles")
    assert [r["match_id"] for r in by_date] == data.NEXT_MATCHDAY["E0"]


def test_postgres_prepares_once_per_connection_with_the_same_results(postgres_url):
    engine = engines.create_engine(postgres_url)
    migrate.upgrade(engine)
    with engine.begin() as connection:
        data.populate(connection)
    params = {"as_of": data.AS_OF, "competition_id": "E0", "model_name": "dixon_coles"}
    with engine.connect() as connection:
        plain = queries.run(connection, "next_matchday", prepared=False, **params)
        assert connection.execute(sa.text("SELECT count(*) FROM pg_prepared_statements")).scalar_one() == 0
        first = queries.run(connection, "next_matchday", **params)
        connection.rollback()  # prepared statements outlive transactions
        again = queries.run(connection, "next_matchday", **params)
        later = queries.run(connection, "next_matchday", **{**params, "as_of": data.at(7, 22)})
        prepared = connection.execute(sa.text("SELECT name, parameter_types::text[] FROM pg_prepared_statements")).all()
    assert [tuple(p) for p in prepared] == [
        ("football_next_matchday", ["text", "timestamp with time zone", "text"])]
    assert first == again == plain and [r["match_id"] for r in plain] == data.NEXT_MATCHDAY["E0"]
    assert [r["match_id"] for r in later] == data.NEXT_MATCHDAY["E0"][1:]
    assert all(r["kickoff_at"].utcoffset() == dt.timedelta(0) for r in first)
    # a connection that lost its statements (as a replaced DB-API connection has) prepares again
    with engine.connect() as connection:
        connection.exec_driver_sql("DEALLOCATE ALL")
        connection.connection.info.pop("football_prepared", None)
        assert queries.run(connection, "next_matchday", **params) == plain
    engine.dispose()
