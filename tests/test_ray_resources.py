"""Ray Data asked for resources the cluster does not have fails at once with one line, instead of hanging.

A local Ray cluster of 1 CPU and no GPU, as on a laptop; nothing is submitted, so no model is loaded.
"""
import logging

import pytest

from classifier.errors import PolicytagError

ray = pytest.importorskip("ray", reason="the Ray engine needs the ray extra: pip install -e '.[test,ray]'")
from classifier.engines.ray_engine import tag_documents  # noqa: E402


@pytest.fixture(scope="module")
def laptop():
    ray.init(num_cpus=1, num_gpus=0, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    yield
    ray.shutdown()


def test_asking_for_a_gpu_on_a_cluster_without_one_fails_in_one_line(laptop):
    docs = ray.data.from_items([{"id": "one", "text": "Envoys met in Geneva to trade ceasefire maps."}])
    with pytest.raises(PolicytagError) as caught:
        tag_documents(docs, concurrency=2, num_gpus=1)
    message = str(caught.value)
    assert "\n" not in message
    assert "ask for 2 GPUs, the Ray cluster has 0" in message


def test_more_cpus_than_the_cluster_has_fails_too(laptop):
    docs = ray.data.from_items([{"id": "one", "text": "Envoys met in Geneva to trade ceasefire maps."}])
    with pytest.raises(PolicytagError, match="ask for 3 CPUs, the Ray cluster has 1"):
        tag_documents(docs, concurrency=3, num_cpus=1)
