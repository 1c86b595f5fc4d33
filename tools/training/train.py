"""Trains the streamscore models from the exported training CSVs and writes, per pipeline,
services/inference/models/<pipeline>/1/{model.onnx, manifest.json, reference-sample.json}.

Offline tooling only. Deterministic: fixed seeds, fixed createdAt, so a re-run with the same
data and the pinned requirements gives byte-identical artifacts.

    python tools/training/train.py --data .stack/training-data --models services/inference/models

Retrain mode (`npm run models -- retrain` runs it): one pipeline, a training CSV and a holdout CSV
of feature vectors with a class-index `label` column, and an explicit output version folder. The
creation time and the description of where the rows came from are arguments, so the same inputs
still give byte-identical files:

    python tools/training/train.py payments --train-csv train.csv --holdout-csv holdout.csv
        --out <model root>/<pipeline>/<version> --version 2 --created-at 2026-12-07T10:00:00.000Z
        --data-description data.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import skl2onnx
import sklearn
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType, Int64TensorType
from sklearn.datasets import load_iris
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, brier_score_loss, f1_score, roc_auc_score

SEED = 20260101
VERSION = 1
# Fixed so re-runs are byte-identical; bump it together with VERSION when a model is retrained for real.
CREATED_AT = "2026-01-01T00:00:00.000Z"
TARGET_OPSET = 17
HOLDOUT_SHARE = 0.2
REFERENCE_ROWS = 5_000
VERIFY_ROWS = 1_000
SCRIPT = "tools/training/train.py"

# Mirrors the pipeline definitions in services/shared/pipelines/*.ts. The feature order itself is
# read from the CSV header (written from featureNames(definition)); the model name, categorical
# features and class names are checked against it below.
PIPELINES = {
    "payments": {
        "modelName": "payments-fraud",
        "task": "binary-classification",
        "classNames": ["legit", "fraud"],
        "categorical": ["channel_pos", "channel_ecom", "channel_atm", "merchant_category", "country"],
    },
    "iris": {
        "modelName": "iris-classifier",
        "task": "multiclass-classification",
        "classNames": ["setosa", "versicolor", "virginica"],
        "categorical": [],
    },
}


def load_csv(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    with path.open() as f:
        header = f.readline().strip().split(",")
    data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    if header[-1] != "label":
        raise SystemExit(f"{path}: last column must be 'label', got {header[-1]!r}")
    return header[:-1], data[:, :-1], data[:, -1].astype(np.int64)


def make_estimator(pipeline: str):
    if pipeline == "payments":
        # HistGradientBoostingClassifier would be the faster choice, but skl2onnx 1.20.0 cannot
        # convert it with onnx 1.23 (its TreeEnsembleClassifier attribute nodes_missing_value_tracks_true
        # is rejected by onnx.helper.make_attribute); the classic gradient boosting converts cleanly.
        return GradientBoostingClassifier(
            n_estimators=100,
            learning_rate=0.1,
            max_depth=3,
            subsample=1.0,
            random_state=SEED,
        )
    return LogisticRegression(C=1.0, max_iter=1000, random_state=SEED)


def json_params(estimator) -> dict:
    out = {}
    for key, value in sorted(estimator.get_params().items()):
        if value is None or isinstance(value, (bool, int, float, str)):
            out[key] = value
        elif isinstance(value, np.generic):
            out[key] = value.item()
        else:
            out[key] = repr(value)
    return out


def numerical_profile(values: np.ndarray) -> dict:
    values = np.asarray(values, dtype=np.float64)
    edges = np.percentile(values, np.linspace(0, 100, 11))
    # Bins closed on the left, the last one closed on both sides: a value belongs to the last bin
    # whose left edge is <= value (so with tied edges the empty bins come first), the maximum to bin 9.
    bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, 9)
    counts = np.bincount(bins, minlength=10)
    return {
        "type": "numerical",
        "count": int(values.size),
        "mean": float(values.mean()),
        "std": float(values.std()),
        "min": float(values.min()),
        "max": float(values.max()),
        "quantileEdges": [float(e) for e in edges],
        "binShares": [float(c) / values.size for c in counts],
    }


def categorical_key(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def categorical_profile(values: np.ndarray) -> dict:
    keys, counts = np.unique(np.asarray(values, dtype=np.float64), return_counts=True)
    return {
        "type": "categorical",
        "count": int(len(values)),
        "frequencies": {categorical_key(k): float(c) / len(values) for k, c in zip(keys, counts)},
    }


def export_onnx(estimator, width: int, version: int) -> tuple[bytes, int]:
    n_classes = len(estimator.classes_)
    model = to_onnx(
        estimator,
        initial_types=[("input", FloatTensorType([None, width]))],
        # skl2onnx names the outputs label/probabilities once ZipMap is off; keep its default names.
        final_types=[
            ("output_label", Int64TensorType([None])),
            ("output_probability", FloatTensorType([None, n_classes])),
        ],
        target_opset={"": TARGET_OPSET, "ai.onnx.ml": 3},
        # onnxruntime-node cannot hand a seq(map) output (ZipMap) to JavaScript, so probabilities
        # are exported as a plain float tensor [N, n_classes] in classLabels order.
        options={id(estimator): {"zipmap": False}},
    )
    # skl2onnx collects opsets in a set, so their order follows Python's string hash seed; sorted,
    # the file is byte-identical from run to run.
    opsets = sorted(((o.domain, o.version) for o in model.opset_import))
    del model.opset_import[:]
    for domain, version in opsets:
        model.opset_import.add(domain=domain, version=version)
    model.producer_name = "streamscore-training"
    model.producer_version = str(version)
    onnx.checker.check_model(model)
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    return model.SerializeToString(), opset


def onnx_scores(model_bytes: bytes, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    labels, probabilities = session.run(["output_label", "output_probability"], {"input": x.astype(np.float32)})
    return np.asarray(labels), np.asarray(probabilities, dtype=np.float64)


def write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2, allow_nan=False) + "\n")


def fit_and_describe(
    pipeline: str,
    features: list[str],
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    version: int,
    created_at: str,
    training_data: dict | None = None,
):
    """Fits the pipeline's estimator, exports and checks the ONNX model, and builds the manifest and
    the reference sample. Both modes go through here, so a retrained candidate is made exactly as the
    shipped model was."""
    spec = PIPELINES[pipeline]
    missing = [f for f in spec["categorical"] if f not in features]
    if missing:
        raise SystemExit(f"{pipeline}: categorical features {missing} are not in the CSV header {features}")

    # Train on float32-representable values: the ONNX model sees float32 input, so tree thresholds
    # and linear weights then route and score every row the same way in both runtimes.
    x_train32 = x_train.astype(np.float32).astype(np.float64)
    x_test32 = x_test.astype(np.float32).astype(np.float64)

    estimator = make_estimator(pipeline)
    estimator.fit(x_train32, y_train)
    classes = [int(c) for c in estimator.classes_]
    if classes != list(range(len(spec["classNames"]))):
        raise SystemExit(f"{pipeline}: expected classes 0..{len(spec['classNames']) - 1}, got {classes}")

    model_bytes, opset = export_onnx(estimator, len(features), version)
    sk_proba_test = estimator.predict_proba(x_test32)
    sk_pred_test = estimator.predict(x_test32)
    onnx_labels_test, onnx_proba_test = onnx_scores(model_bytes, x_test)
    python_diff = float(np.abs(onnx_proba_test - sk_proba_test).max())
    if python_diff > 1e-5 or not np.array_equal(onnx_labels_test, sk_pred_test):
        raise SystemExit(f"{pipeline}: onnxruntime disagrees with scikit-learn (max abs diff {python_diff:.3g})")

    metrics: dict = {"holdout": {"rows": int(len(y_test)), "accuracy": float(accuracy_score(y_test, sk_pred_test))}}
    if spec["task"] == "binary-classification":
        metrics["holdout"]["rocAuc"] = float(roc_auc_score(y_test, sk_proba_test[:, 1]))
        metrics["holdout"]["brier"] = float(brier_score_loss(y_test, sk_proba_test[:, 1]))
    else:
        metrics["holdout"]["macroF1"] = float(f1_score(y_test, sk_pred_test, average="macro"))
        real = load_iris()
        real_x = real.data.astype(np.float32).astype(np.float64)
        real_pred = estimator.predict(real_x)
        metrics["realIris"] = {
            "rows": int(len(real.target)),
            "accuracy": float(accuracy_score(real.target, real_pred)),
            "macroF1": float(f1_score(real.target, real_pred, average="macro")),
        }

    # Profile and reference sample: the rows the model was fitted on, scored by the ONNX model
    # (what the inference service will produce), so the monitor compares like with like.
    onnx_labels_train, onnx_proba_train = onnx_scores(model_bytes, x_train)
    if spec["task"] == "binary-classification":
        # The model computes in float32; its shortest float32 spelling keeps the JSON small and exact.
        predictions = np.array([float(str(p)) for p in onnx_proba_train[:, 1].astype(np.float32)])
        prediction_profile = numerical_profile(predictions)
    else:
        predictions = onnx_labels_train.astype(np.int64)
        prediction_profile = categorical_profile(predictions)
    profile = {
        "rows": int(len(y_train)),
        "features": {
            name: categorical_profile(x_train[:, i]) if name in spec["categorical"] else numerical_profile(x_train[:, i])
            for i, name in enumerate(features)
        },
        "prediction": prediction_profile,
    }

    class_labels = [str(c) for c in classes]
    manifest = {
        "name": spec["modelName"],
        "version": version,
        "pipeline": pipeline,
        "createdAt": created_at,
        "file": "model.onnx",
        "sha256": hashlib.sha256(model_bytes).hexdigest(),
        "task": spec["task"],
        "input": {"name": "input", "type": "float32", "width": len(features)},
        "featureOrder": features,
        "outputs": {"label": "output_label", "probabilities": "output_probability", "probabilitiesFormat": "tensor"},
        "classLabels": class_labels,
        "classNames": spec["classNames"],
        **({"positiveClass": "1"} if spec["task"] == "binary-classification" else {}),
        "trainer": {
            "library": f"scikit-learn {sklearn.__version__}",
            "estimator": type(estimator).__name__,
            "params": json_params(estimator),
            "exporter": f"skl2onnx {skl2onnx.__version__}",
            "opset": opset,
            "seed": SEED,
            "trainingRows": int(len(y_train)),
            "script": SCRIPT,
            # Where a retrained model's rows came from (the shipped models' data is described in the README).
            **({"trainingData": training_data} if training_data is not None else {}),
        },
        "metrics": metrics,
        "profile": profile,
    }

    rng = np.random.default_rng(SEED)
    sample = np.sort(rng.choice(len(y_train), size=min(REFERENCE_ROWS, len(y_train)), replace=False))
    reference = {
        "featureOrder": features,
        "rows": [[float(v) for v in row] for row in x_train[sample]],
        "labels": [int(v) for v in y_train[sample]],
        "predictions": [float(v) if spec["task"] == "binary-classification" else int(v) for v in predictions[sample]],
    }
    return model_bytes, manifest, reference, estimator, python_diff


def write_version(out_dir: Path, model_bytes: bytes, manifest: dict, reference: dict) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "model.onnx").write_bytes(model_bytes)
    write_json(out_dir / "manifest.json", manifest)
    write_json(out_dir / "reference-sample.json", reference)


def train_pipeline(pipeline: str, data_dir: Path, models_dir: Path) -> dict:
    started = time.perf_counter()
    features, x, y = load_csv(data_dir / f"{pipeline}.csv")

    # The CSV is in event-time order: the last 20% is the holdout, as a model meets the future.
    split = int(round(len(y) * (1 - HOLDOUT_SHARE)))
    x_train, y_train, x_test, y_test = x[:split], y[:split], x[split:], y[split:]
    model_bytes, manifest, reference, estimator, python_diff = fit_and_describe(
        pipeline, features, x_train, y_train, x_test, y_test, VERSION, CREATED_AT
    )
    metrics = manifest["metrics"]

    out_dir = models_dir / pipeline / str(VERSION)
    write_version(out_dir, model_bytes, manifest, reference)

    # Rows for the Node check (verify-node.ts): holdout rows first (then, for iris, the real Iris
    # rows and training rows, to reach VERIFY_ROWS), with scikit-learn's answers.
    extra = [load_iris().data] if pipeline == "iris" else []
    verify_x = np.concatenate([x_test, *extra, x_train])[:VERIFY_ROWS]
    verify_x32 = verify_x.astype(np.float32).astype(np.float64)
    verify = {
        "pipeline": pipeline,
        "modelDir": str(out_dir),
        "featureOrder": features,
        "rows": [[float(v) for v in row] for row in verify_x],
        "sklearnLabels": [int(v) for v in estimator.predict(verify_x32)],
        "sklearnProbabilities": [[float(p) for p in row] for row in estimator.predict_proba(verify_x32)],
    }
    write_json(data_dir / f"{pipeline}-verify.json", verify)

    seconds = time.perf_counter() - started
    print(
        f"{pipeline}: {type(estimator).__name__} on {len(y_train)} rows x {len(features)} features in {seconds:.1f}s; "
        f"holdout {json.dumps(metrics['holdout'])}; "
        + (f"real Iris {json.dumps(metrics['realIris'])}; " if "realIris" in metrics else "")
        + f"onnxruntime vs scikit-learn max abs diff {python_diff:.2e}; {len(model_bytes)} bytes"
    )
    if pipeline == "iris":
        probe = np.array([[5.1, 3.5, 1.4, 0.2]])
        label, proba = onnx_scores(model_bytes, probe)
        print(f"iris: [5.1, 3.5, 1.4, 0.2] -> class {int(label[0])} {np.round(proba[0], 4).tolist()}")
        if int(label[0]) != 0:
            raise SystemExit("iris: [5.1, 3.5, 1.4, 0.2] must be class 0 (setosa)")
    return manifest


def retrain_pipeline(
    pipeline: str,
    train_csv: Path,
    holdout_csv: Path,
    out_dir: Path,
    version: int,
    created_at: str,
    description_file: Path | None,
) -> dict:
    """Retrain mode: the caller chose the rows and the split; this fits, checks and writes one version."""
    started = time.perf_counter()
    if out_dir.exists() and any(out_dir.iterdir()):
        raise SystemExit(f"{out_dir} is not empty: a version folder is never written twice")
    features, x_train, y_train = load_csv(train_csv)
    holdout_features, x_test, y_test = load_csv(holdout_csv)
    if holdout_features != features:
        raise SystemExit(f"{holdout_csv}: header {holdout_features} differs from {train_csv}'s {features}")
    described = json.loads(description_file.read_text()) if description_file else {}
    if not isinstance(described, dict):
        raise SystemExit(f"{description_file}: must hold a JSON object")
    # The hashes are of the exact bytes fitted and scored, so the manifest names its data beyond doubt.
    training_data = {
        **described,
        "sha256": {
            "train": hashlib.sha256(train_csv.read_bytes()).hexdigest(),
            "holdout": hashlib.sha256(holdout_csv.read_bytes()).hexdigest(),
        },
    }
    model_bytes, manifest, reference, estimator, python_diff = fit_and_describe(
        pipeline, features, x_train, y_train, x_test, y_test, version, created_at, training_data
    )
    write_version(out_dir, model_bytes, manifest, reference)
    seconds = time.perf_counter() - started
    # One JSON line on stdout is the caller's result; everything else a person reads goes to stderr.
    print(
        f"{pipeline} v{version}: {type(estimator).__name__} on {len(y_train)} rows x {len(features)} features "
        f"in {seconds:.1f}s; holdout {json.dumps(manifest['metrics']['holdout'])}; "
        f"onnxruntime vs scikit-learn max abs diff {python_diff:.2e}",
        file=sys.stderr,
    )
    print(
        json.dumps(
            {
                "version": version,
                "dir": str(out_dir),
                "trainingRows": int(len(y_train)),
                "holdout": manifest["metrics"]["holdout"],
                "seconds": seconds,
                "maxAbsDiff": python_diff,
            }
        )
    )
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(".stack/training-data"))
    parser.add_argument("--models", type=Path, default=Path("services/inference/models"))
    parser.add_argument("--train-csv", type=Path, help="retrain mode: feature vectors and class-index labels to fit")
    parser.add_argument("--holdout-csv", type=Path, help="retrain mode: rows to measure the candidate on")
    parser.add_argument("--out", type=Path, help="retrain mode: the version folder to write (must not hold files)")
    parser.add_argument("--version", type=int, help="retrain mode: the version number in the manifest")
    parser.add_argument("--created-at", help="retrain mode: the manifest's createdAt (ISO 8601, UTC)")
    parser.add_argument("--data-description", type=Path, help="retrain mode: JSON saying where the rows came from")
    parser.add_argument("pipelines", nargs="*", default=list(PIPELINES))
    args = parser.parse_args()
    for pipeline in args.pipelines:
        if pipeline not in PIPELINES:
            raise SystemExit(f"unknown pipeline {pipeline!r} (known: {', '.join(PIPELINES)})")
    if args.train_csv is None:
        for pipeline in args.pipelines:
            train_pipeline(pipeline, args.data, args.models)
        return
    missing = [flag for flag, value in (("--holdout-csv", args.holdout_csv), ("--out", args.out),
               ("--version", args.version), ("--created-at", args.created_at)) if value is None]
    if missing:
        raise SystemExit(f"retrain mode (--train-csv) also needs {', '.join(missing)}")
    if len(args.pipelines) != 1:
        raise SystemExit("retrain mode trains exactly one pipeline: name it")
    if args.version <= 0:
        raise SystemExit(f"--version must be a positive whole number, got {args.version}")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", args.created_at):
        raise SystemExit(f"--created-at must look like 2026-01-01T00:00:00.000Z, got {args.created_at!r}")
    retrain_pipeline(
        args.pipelines[0], args.train_csv, args.holdout_csv, args.out, args.version, args.created_at, args.data_description
    )


if __name__ == "__main__":
    sys.exit(main())
