"""``policytag tag --engine ray``: the local engine's run, with each chunk scored by a Ray actor.

The driver reads and plans chunks exactly as the local engine does (:func:`classifier.engines.local.plan_chunks`
decides chunks, skips and errors); each chunk's documents go to a :class:`ChunkScorer` actor, which runs the local
engine's own :func:`~classifier.engines.local.score_chunk`, and the Results come back in input order, so the same
writer, ``--resume`` and exit codes apply. On CPUs the records are identical to the local engine's: each chunk
reaches the encoder as the same call.
"""
from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from classifier.engines.local import DEFAULT_CHUNK, Chunk, Result, plan_chunks, score_chunk
from classifier.engines.ray_ship import ModelFiles, SharedModel, load_shipped, model_files, require_ray
from classifier.errors import InputError, PolicytagError
from classifier.io.readers import Document, Item
from classifier.io.segment import Paragraph, split

log = logging.getLogger(__name__)
Outcome = tuple[list[dict[str, Any]], str | None]  # a document's records, or why it failed (an InputError's message)


class ChunkScorer:
    """In Ray, an actor that loads the model once and then scores chunk after chunk with :func:`score_chunk`.

    It receives only a chunk's documents (errors stay with the driver) and returns, per document, its records
    or the failure's message: the driver puts the documents back (:func:`chunk_results`), so the texts travel
    one way only. ``batch_size`` is the encoder's batch.
    """

    def __init__(self, model: ModelFiles | SharedModel | str | Path | None = None, cache: Any = True,
                 batch_size: int = 64, backend: str = "torch", device: str | None = None, decision: Any = None):
        self.model = load_shipped(model, cache, batch_size, backend, device, decision)

    def score(self, docs: Sequence[tuple[Document, list[Paragraph]]]) -> list[Outcome]:
        return [(r.records, None if r.error is None else r.error.message) for r in score_chunk(self.model, docs)]


def chunk_docs(chunk: Chunk) -> list[tuple[Document, list[Paragraph]]]:
    """What an actor scores: the chunk's documents and their paragraphs, in order."""
    return [entry for entry in chunk if not isinstance(entry, Result)]


def chunk_results(chunk: Chunk, outcomes: Sequence[Outcome]) -> Iterator[Result]:
    """A chunk's Results in input order, from the outcomes an actor returned for its documents."""
    scored = iter(outcomes)
    for entry in chunk:
        if isinstance(entry, Result):
            yield entry
            continue
        doc = entry[0]
        records, problem = next(scored)
        yield Result(doc, records) if problem is None else Result(doc, error=InputError(doc.source, problem))


class RaySession:
    """Ray for one run: the cluster at ``address`` (or, with none, the current session, the cluster that
    ``ray start`` made on this machine, or a local one started now) and ``actors`` ChunkScorer actors.
    ``batch_size`` is the encoder's batch; the chunk (sentences per actor call) is :meth:`tag_stream`'s."""

    def __init__(self, model: ModelFiles | str | Path | None = None, *, address: str | None = None,
                 actors: int | None = None, cpus_per_actor: float = 1, gpus_per_actor: float = 0,
                 cache: Any = True, batch_size: int = 64, backend: str = "torch", decision: Any = None):
        self.model = model
        self.decision = decision  # a DecisionRule the actors apply, as the local engine's model does
        self.address = address
        self.actors = actors
        self.cpus_per_actor = cpus_per_actor
        self.gpus_per_actor = gpus_per_actor
        self.cache = cache
        self.batch_size = batch_size
        self.backend = backend
        self._owned = False
        self._pool: list[Any] = []

    def start(self) -> RaySession:
        ray = require_ray()
        if not ray.is_initialized():
            problem = _unreachable(self.address) if self.address else None
            if problem:  # Ray itself would retry for minutes
                raise PolicytagError(f"cannot reach a Ray cluster at {self.address}: {problem}")
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                         logging_level=logging.ERROR)  # the command's stderr is for its own lines
            except Exception as exc:  # ConnectionError, ValueError, RuntimeError ... all mean "no cluster"
                where = f"at {self.address}" if self.address else "on this machine"
                raise PolicytagError(f"cannot start or reach a Ray cluster {where}: {exc}") from None
            self._owned = True
        n = self.actors if self.actors is not None else self._fitting_actors(ray)
        if n < 1:
            raise PolicytagError(f"--actors must be at least 1, not {n}")
        self._check_room(ray, n)
        files = SharedModel(ray.put(model_files(self.model)))
        actor = ray.remote(ChunkScorer).options(num_cpus=self.cpus_per_actor, num_gpus=self.gpus_per_actor)
        device = "cuda" if self.gpus_per_actor else None
        self._pool = [actor.remote(files, self.cache, self.batch_size, self.backend, device, self.decision)
                      for _ in range(n)]
        log.info("ray: %d ChunkScorer actors (%s CPU, %s GPU each)", n, self.cpus_per_actor, self.gpus_per_actor)
        return self

    def wait_ready(self) -> None:
        """Block until every actor has loaded the model and encoded a probe paragraph (for timing steady work)."""
        import ray
        probe = Document("probe", "A probe paragraph to load the encoder.", source="probe")
        ray.get([actor.score.remote([(probe, split(probe.text))]) for actor in self._pool])

    def _fitting_actors(self, ray: Any) -> int:
        total = ray.cluster_resources()
        if self.gpus_per_actor:
            return max(1, int(total.get("GPU", 0) // self.gpus_per_actor))
        return max(1, int(total.get("CPU", 1) // self.cpus_per_actor))

    def _check_room(self, ray: Any, n: int) -> None:
        """Actors that can never be placed would wait forever; a cluster that can grow (autoscaling) may
        place them later, so only a cluster started here, which cannot, is refused."""
        total = ray.cluster_resources()
        for key, each in (("CPU", self.cpus_per_actor), ("GPU", self.gpus_per_actor)):
            need, have = n * each, total.get(key, 0)
            if need > have:
                msg = f"{n} actors need {need:g} {key}s, the Ray cluster has {have:g}"
                if self._owned and not self.address:
                    raise PolicytagError(f"{msg}; lower --actors")
                log.warning("%s; they wait for the cluster to grow", msg)

    def stop(self) -> None:
        if not self._pool and not self._owned:
            return
        import ray
        for actor in self._pool:
            ray.kill(actor)
        self._pool = []
        if self._owned:
            ray.shutdown()
            self._owned = False

    def tag_stream(self, items: Iterable[Item], chunk: int = DEFAULT_CHUNK,
                   skip: Callable[[Document], bool] | None = None, inflight: int = 2) -> Iterator[Result]:
        """The local engine's ``tag_stream`` on the cluster: same Results, same order; at most ``inflight`` chunks
        per actor are out at a time, so memory stays bounded however long the input."""
        queue: deque[tuple[Chunk, Any]] = deque()
        out = n = 0
        try:
            for planned in plan_chunks(items, chunk, skip):
                docs = chunk_docs(planned)
                ref = self._pool[n % len(self._pool)].score.remote(docs) if docs else None
                queue.append((planned, ref))
                if ref is not None:
                    n += 1
                    out += 1
                while queue and (queue[0][1] is None or out >= inflight * len(self._pool)):
                    if queue[0][1] is not None:
                        out -= 1
                    yield from self._drain_one(queue)
            while queue:
                yield from self._drain_one(queue)
        finally:
            self.stop()

    def _drain_one(self, queue: deque) -> Iterator[Result]:
        """The oldest chunk's Results, once its actor has returned them."""
        import ray
        planned, ref = queue.popleft()
        try:
            outcomes = ray.get(ref) if ref is not None else []
        except ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, PolicytagError):
                raise cause from None
            raise PolicytagError(f"a Ray ChunkScorer failed: {cause or exc}") from None
        except ray.exceptions.RayActorError as exc:
            raise PolicytagError(f"a Ray ChunkScorer actor died: {exc}") from None
        yield from chunk_results(planned, outcomes)


def _unreachable(address: str, timeout: float = 5.0) -> str | None:
    """Why an explicit ``HOST:PORT`` (or ``ray://HOST:PORT``) address does not answer; None when it does, or
    when the address is one Ray resolves itself (``auto``, ``local``)."""
    import socket
    target = address.split("://", 1)[-1]
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        return None
    try:
        socket.create_connection((host, int(port)), timeout).close()
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def tag_stream_ray(items: Iterable[Item], model: ModelFiles | str | Path | None = None, chunk: int = DEFAULT_CHUNK,
                   skip: Callable[[Document], bool] | None = None, **session: Any) -> Iterator[Result]:
    """Connect (or start a local cluster) and place the actors now, then stream Results lazily; the session
    ends with the stream. ``session`` takes :class:`RaySession`'s options."""
    return RaySession(model, **session).start().tag_stream(items, chunk, skip)
