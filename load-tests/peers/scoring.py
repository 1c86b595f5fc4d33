"""What both peer scorers share: the model as its manifest describes it, and the scored record they
write, field for field the one streamscore's inference stage writes. The bench's reference, not
product code."""

import json

import numpy as np
import onnxruntime as ort

METADATA_FIELDS = ("event_id", "entity", "event_time", "ingest_time", "transform_time")


class Model:
    def __init__(self, model_dir):
        with open(f"{model_dir}/manifest.json") as f:
            self.manifest = json.load(f)
        self.session = ort.InferenceSession(
            f"{model_dir}/{self.manifest['file']}", providers=["CPUExecutionProvider"]
        )
        self.feature_order = self.manifest["featureOrder"]
        self.class_labels = self.manifest["classLabels"]
        positive = self.manifest.get("positiveClass")
        self.positive = self.class_labels.index(positive) if positive else -1
        self.outputs = [self.manifest["outputs"]["label"], self.manifest["outputs"]["probabilities"]]
        self.input_name = self.manifest["input"]["name"]

    def matrix(self, records):
        return np.array([[r[name] for name in self.feature_order] for r in records], dtype=np.float32)

    def run(self, matrix):
        """Labels and class probabilities per row, as Python lists (converted per array, not per element)."""
        labels, probabilities = self.session.run(self.outputs, {self.input_name: matrix})
        return [str(label) for label in labels.tolist()], probabilities.astype(np.float64).tolist()

    def scored(self, record, pipeline, label, probabilities, score_time):
        return {
            "event_id": record["event_id"],
            "pipeline": pipeline,
            "entity": record["entity"],
            "event_time": record["event_time"],
            "ingest_time": record["ingest_time"],
            "transform_time": record["transform_time"],
            "score_time": score_time,
            "model_name": self.manifest["name"],
            "model_version": self.manifest["version"],
            "label": label,
            "score": probabilities[self.positive] if self.positive >= 0 else max(probabilities),
            "class_labels": self.class_labels,
            "probabilities": probabilities,
            "features": [float(v) for k, v in record.items() if k not in METADATA_FIELDS],
        }
