"""The MLflow face of a RiskModel: `predict` returns calibrated probabilities, never 0/1 labels.

Logged as "models from code" (this file, not a pickle). The booster and calibrator travel as plain files
(booster.txt, model.json) inside the MLflow model, so serving can also load them directly and skip the
pandas round-trip on its lean path.
"""
from __future__ import annotations

import mlflow.pyfunc
import pandas as pd
from mlflow.models import set_model

from models.learner import RiskModel
from models.tracking import ARTIFACT


class RiskPyfunc(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        self.model = RiskModel.load(context.artifacts[ARTIFACT])

    def predict(self, context, model_input: pd.DataFrame, params=None):
        return self.model.probability(self.model.matrix(model_input))


set_model(RiskPyfunc())
