"""Temperature scaling (issue 21): fitted on held-out predictions of an overconfident model on real data (scikit-learn
digits, a barely regularised logistic regression), it lowers the test ECE and log loss."""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from transferkit.evaluation.calibration import temperature_record, temperature_scaled


def test_temperature_fitted_on_validation_outputs_calibrates_the_test_outputs():
    x, y = load_digits(return_X_y=True)
    x_train, x_rest, y_train, y_rest = train_test_split(x, y, train_size=100, stratify=y, random_state=0)
    x_valid, x_test, y_valid, y_test = train_test_split(x_rest, y_rest, train_size=300, stratify=y_rest, random_state=0)
    model = LogisticRegression(C=100.0, max_iter=5000).fit(x_train, y_train)  # overconfident on 100 digits
    record = temperature_record(
        (y_valid, model.predict_proba(x_valid)), (y_test, model.predict_proba(x_test)), fitted_on="validation"
    )
    assert record["temperature"] > 1 and record["fitted_on"] == "validation"
    assert record["ece_after"] < record["ece_before"] and record["log_loss_after"] < record["log_loss_before"]
    proba = model.predict_proba(x_test[:5])
    np.testing.assert_allclose(temperature_scaled(proba, 1.0), proba, atol=1e-9)  # T = 1 changes nothing
