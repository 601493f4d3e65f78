"""ThemeClassifier as a scikit-learn estimator: clone, params, Pipeline, GridSearchCV, cross_val_score, pickle."""
import pickle

import numpy as np
import pytest
from ecosystem_data import FAST, mini_rows, multi_label_data
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from classifier import ThemeClassifier, load_codebook

ROWS = mini_rows()
TEXTS = [r["text"] for r in ROWS]
LABELS = [r["label"] for r in ROWS]
CODEBOOK = load_codebook()


@pytest.fixture(scope="module")
def multi():
    texts, labels, groups = multi_label_data()
    model = ThemeClassifier(codebook=CODEBOOK, **FAST)
    with pytest.warns(UserWarning, match="fewer than"):  # nine geopolitics themes have no example here
        model.fit(texts, labels, groups=groups)
    return model, texts, labels


def test_params_round_trip_and_clone_is_unfitted():
    model = ThemeClassifier(C=2.0, class_weight=None, context=False, cv=4)
    params = model.get_params()
    assert params["C"] == 2.0 and params["cv"] == 4 and params["context"] is False
    assert model.set_params(C=8.0) is model and model.C == 8.0
    copy = clone(model)
    assert copy is not model and copy.get_params() == model.get_params()
    assert not hasattr(copy, "head_") and is_classifier(model)


def test_clone_of_a_fitted_model_forgets_what_it_learned(multi):
    model, texts, _ = multi
    copy = clone(model)
    assert copy.get_params()["codebook"] == model.codebook
    assert not hasattr(copy, "head_")
    with pytest.raises(Exception, match="not fitted"):
        copy.predict(texts[:1])


def test_pipeline_with_a_text_step():
    shout = FunctionTransformer(lambda xs: [x.upper() for x in xs])  # a real preprocessing step on strings
    pipe = make_pipeline(shout, ThemeClassifier(**FAST)).fit(TEXTS, LABELS)
    pred = pipe.predict(["The navy will escort tankers through the strait.", "Envoys met for ceasefire talks."])
    assert list(pred) == ["maritime_security", "negotiation_diplomacy"]
    assert pipe.predict_proba(TEXTS[:3]).shape == (3, 3)


def test_grid_search_picks_from_the_grid_and_refits():
    search = GridSearchCV(ThemeClassifier(class_weight=None, context=False, lexical=0.0), {"C": [0.05, 4.0]}, cv=3)
    search.fit(TEXTS, LABELS)
    assert search.best_params_["C"] in (0.05, 4.0)
    assert len(search.cv_results_["mean_test_score"]) == 2
    assert search.best_score_ > 0.6  # three well-separated themes
    assert search.predict(["Coast guards shadowed the survey ship near the reef."])[0] == "maritime_security"


def test_cross_val_score_single_label_uses_stratified_folds():
    scores = cross_val_score(ThemeClassifier(**FAST), TEXTS, LABELS, cv=3)
    assert scores.shape == (3,) and not np.isnan(scores).any()
    assert scores.mean() > 0.6


def test_cross_val_score_multi_label_with_a_label_matrix(multi):
    _, texts, labels = multi
    index = {t: j for j, t in enumerate(CODEBOOK.ids)}
    Y = np.zeros((len(texts), len(CODEBOOK)), dtype=int)
    for i, labs in enumerate(labels):
        Y[i, [index[t] for t in labs]] = 1
    with pytest.warns(UserWarning):
        scores = cross_val_score(ThemeClassifier(codebook=CODEBOOK, **FAST), texts, Y,
                                 cv=KFold(3, shuffle=True, random_state=0))
    assert not np.isnan(scores).any() and 0 < scores.mean() <= 1


def test_score_on_a_subset_missing_themes_uses_the_fitted_codebook(multi):
    """A test fold that lacks some themes must still be scored against the model's own theme columns."""
    model, texts, labels = multi
    only = [i for i, labs in enumerate(labels) if labs == ["maritime_security"]]
    value = model.score([texts[i] for i in only], [labels[i] for i in only])
    assert 0 <= value <= 1


def test_pickle_round_trip_predicts_the_same(multi):
    model, texts, _ = multi
    copy = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(copy.predict_proba(texts[:6]), model.predict_proba(texts[:6]))
    assert copy.get_params() == model.get_params()
