"""scikit-learn estimators over transferkit's machinery, one per task family, for Pipeline, cross_val_score and
GridSearchCV: `TransferClassifier`, `TransferMultiLabelClassifier`, `TransferRegressor`. X holds texts, image paths
or table rows (a DataFrame, or a 2-D numeric array read by a tabular backbone such as ``tabular:columns``).

Example::

    from transferkit.estimators import TransferClassifier
    clf = TransferClassifier(backbone="bundled:minilm").fit(["great", "awful", ...], ["pos", "neg", ...])
    clf.predict(["not bad at all"])
"""

from transferkit.estimators.classifiers import TransferClassifier, TransferMultiLabelClassifier
from transferkit.estimators.regressor import TransferRegressor

__all__ = ["TransferClassifier", "TransferMultiLabelClassifier", "TransferRegressor"]
