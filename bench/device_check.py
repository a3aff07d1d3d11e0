"""The Bayesian Dixon-Coles fit, unchanged code, on whatever device JAX finds (a GPU on a lent machine).

Needs only jax, numpyro, numpy, pandas and scipy (a bare CUDA image has them), and a matches CSV made
here first:  .venv/bin/python bench/bench_dixon_coles.py --export .device/e0.csv
Then on the device:  python3 bench/device_check.py .device/e0.csv
"""

import datetime as dt
import json
import os
import sys
import time

sys.path.insert(0, os.getcwd())

import jax  # noqa: E402
import pandas as pd  # noqa: E402

from football_pipeline.modelling.dixon_coles import BayesianDixonColes, predict  # noqa: E402


def main(path: str) -> None:
    data = pd.read_csv(path, parse_dates=["match_date"])
    print("jax", jax.__version__, jax.devices(), flush=True)
    model = BayesianDixonColes()
    as_of = dt.date(2018, 8, 10)
    out = []
    for label, warm, days in (("cold (compiles)", False, 0), ("cold again", False, 0),
                              ("warm (compiles)", True, 7), ("warm", True, 14)):
        started = time.perf_counter()
        posterior = model.fit(data, as_of + dt.timedelta(days=days), warm=warm)
        seconds = time.perf_counter() - started
        out.append({"fit": label, "seconds": round(seconds, 2),
                    **{k: round(float(v), 4) for k, v in posterior.diagnostics.items()}})
        print(out[-1], flush=True)
    p = predict(posterior, ["manchester-city", "arsenal"], ["arsenal", "manchester-city"])
    print(p[["home_team_id", "away_team_id", "p_home", "p_draw", "p_away"]].round(3).to_string(), flush=True)
    with open(os.path.join(os.environ.get("OUT", "."), "device_check.json"), "w") as handle:
        json.dump(out, handle, indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
