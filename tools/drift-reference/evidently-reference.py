"""Evidently itself on given columns: the reference the parity test holds our parity mode to.

Reads {"cases": [{"id", "type": "numerical" | "categorical" | "auto", "reference": [...],
"current": [...]}]} on stdin and prints {"versions": {...}, "results": [...]} on stdout.
Values are JSON numbers, strings, booleans or null; non-finite floats, which JSON cannot carry, are
{"$float": "NaN" | "Infinity" | "-Infinity"} (also in the output). Each column becomes a pandas
Series the way pandas infers it from those Python values, so its dtype (int64, float64, bool,
object) is the one a user's DataFrame built from the same values would have: Evidently's type
inference and numpy's histogram rules both depend on it.

Per case:
- default: Evidently's default drift test through its current API (Report with ValueDrift, no method
  given), with the column type given by a DataDefinition or, for "auto", inferred by Evidently from
  the data (the current dataset's type is the one ValueDrift uses);
- tests: the registered stattests (ks, wasserstein, psi, jensenshannon, chisquare, z) called
  directly on the column after Evidently's own cleaning (±inf to NaN, NaN dropped), with the same
  column type; chisquare only up to 20 distinct values, z only for at most 2, as in parity mode.
"""

import json
import math
import sys
import warnings

import evidently
import numpy as np
import pandas as pd
import scipy
from evidently import DataDefinition, Dataset, Report
from evidently.core.datasets import infer_column_type
from evidently.legacy.calculations import stattests
from evidently.legacy.calculations.stattests.registry import get_stattest
from evidently.legacy.core import ColumnType
from evidently.metrics import ValueDrift

COLUMN = "x"
# Parity mode computes chi-square for numerical columns only in its per-value branch (<= 20 values).
CHISQUARE_MAX_DISTINCT = 20
TESTS = {
    "ks": stattests.ks_stat_test,
    "wasserstein": stattests.wasserstein_stat_test,
    "psi": stattests.psi_stat_test,
    "jensenshannon": stattests.jensenshannon_stat_test,
    "chisquare": stattests.chi_stat_test,
    "z": stattests.z_stat_test,
}
NUMERICAL_ONLY = {"ks", "wasserstein"}
TYPE_NAMES = {
    ColumnType.Numerical: "numerical",
    ColumnType.Categorical: "categorical",
    ColumnType.Text: "text",
    ColumnType.Unknown: "unknown",
    ColumnType.Datetime: "datetime",
    ColumnType.List: "list",
}


def decode(value):
    if isinstance(value, dict):
        return float(value["$float"].replace("Infinity", "inf"))
    return value


def encode(value):
    """numpy scalars to Python, non-finite floats to the {"$float": ...} form."""
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    value = float(value)
    if math.isnan(value):
        return {"$float": "NaN"}
    if math.isinf(value):
        return {"$float": "Infinity" if value > 0 else "-Infinity"}
    return value


def cleaned(series: pd.Series) -> pd.Series:
    # What get_one_column_drift does before any stattest; checked below against the Report's score.
    return series.replace([-np.inf, np.inf], np.nan).dropna()


def default_test(case_type: str, reference: pd.DataFrame, current: pd.DataFrame):
    if case_type == "auto":
        current_data, reference_data = current, reference
    else:
        definition = (
            DataDefinition(numerical_columns=[COLUMN])
            if case_type == "numerical"
            else DataDefinition(categorical_columns=[COLUMN])
        )
        current_data = Dataset.from_pandas(current, data_definition=definition)
        reference_data = Dataset.from_pandas(reference, data_definition=definition)
    snapshot = Report([ValueDrift(column=COLUMN)], include_tests=True).run(
        current_data=current_data, reference_data=reference_data
    )
    result = snapshot.dict()
    metric = result["metrics"][0]
    (test,) = result["tests"]
    return {
        "display_name": metric["config"]["method"],
        "threshold": metric["config"]["threshold"],
        "score": metric["value"],
        "drifted": {"FAIL": True, "SUCCESS": False}[test["status"]],
    }


def run_case(case):
    reference_series = pd.Series([decode(v) for v in case["reference"]], name=COLUMN)
    current_series = pd.Series([decode(v) for v in case["current"]], name=COLUMN)
    reference = reference_series.to_frame()
    current = current_series.to_frame()
    if case["type"] == "auto":
        column_type = infer_column_type(current_series)
    else:
        column_type = ColumnType.Numerical if case["type"] == "numerical" else ColumnType.Categorical
    out = {
        "id": case["id"],
        "dtypes": {"reference": str(reference_series.dtype), "current": str(current_series.dtype)},
        "column_type": TYPE_NAMES.get(column_type, str(column_type)),
        "inferred": {
            "reference": TYPE_NAMES.get(infer_column_type(reference_series)),
            "current": TYPE_NAMES.get(infer_column_type(current_series)),
        },
    }
    if column_type not in (ColumnType.Numerical, ColumnType.Categorical):
        # Text and unknown columns get no numerical or categorical drift test in Evidently.
        return out

    ref = cleaned(reference_series)
    cur = cleaned(current_series)
    combined_distinct = int(pd.concat([ref, cur]).nunique())
    out.update(n_reference=int(ref.shape[0]), n_current=int(cur.shape[0]), combined_distinct=combined_distinct)

    tests = {}
    for name, stattest in TESTS.items():
        if name in NUMERICAL_ONLY and column_type != ColumnType.Numerical:
            continue
        if name == "chisquare" and combined_distinct > CHISQUARE_MAX_DISTINCT:
            continue
        if name == "z" and combined_distinct > 2:
            continue
        result = stattest(ref, cur, column_type, None)
        tests[name] = {
            "score": encode(result.drift_score),
            "drifted": bool(result.drifted),
            "threshold": result.actual_threshold,
        }
    out["tests"] = tests

    chosen = get_stattest(ref, cur, column_type, None)
    reported = default_test(case["type"], reference, current)
    direct = chosen(ref, cur, column_type, None)
    # The Report must have run the stattest the registry picks, on the data cleaned as above; if
    # either differs this script no longer describes Evidently and its numbers mean nothing.
    if reported["display_name"] != chosen.display_name:
        raise RuntimeError(f"{case['id']}: Report ran {reported['display_name']}, registry picks {chosen.display_name}")
    same_score = reported["score"] == direct.drift_score or (
        math.isnan(reported["score"]) and math.isnan(direct.drift_score)
    )
    if not same_score or reported["drifted"] != bool(direct.drifted):
        raise RuntimeError(f"{case['id']}: Report {reported} differs from the direct call {direct}")
    out["default"] = {
        "stattest": chosen.name,
        "score": encode(reported["score"]),
        "threshold": reported["threshold"],
        "drifted": reported["drifted"],
    }
    return out


def main():
    # scipy warns on the infinite chi-square of an unseen category; that result is the one compared.
    warnings.simplefilter("ignore")
    cases = json.load(sys.stdin)["cases"]
    results = [run_case(case) for case in cases]
    versions = {
        "evidently": evidently.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "python": sys.version.split()[0],
    }
    json.dump({"versions": versions, "results": results}, sys.stdout, allow_nan=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
