# policytag in a container: `policytag tag` on files mounted at /data, with the shipped model and encoder inside.
# Builds from the package registries only (PyPI, and PyTorch's CPU wheel index so that torch is the CPU build
# rather than gigabytes of CUDA libraries); nothing is downloaded when the container runs.
#   docker build -t policytag .
#   docker run --rm -v "$PWD:/data" -v policytag-cache:/cache policytag tag articles/ -o tags.jsonl
FROM python:3.11-slim

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 POLICYTAG_CACHE_DIR=/cache

WORKDIR /opt/policytag
RUN pip install "torch==2.13.0" --index-url "$TORCH_INDEX"
COPY pyproject.toml README.md ./
COPY classifier ./classifier
COPY policytag ./policytag
COPY models/geopolitics ./models/geopolitics
COPY corpora/geopolitics/codebook.yaml ./corpora/geopolitics/codebook.yaml
RUN pip install . \
    && useradd --create-home policytag \
    && mkdir -p /cache /data && chown policytag /cache /data \
    && policytag --version

USER policytag
WORKDIR /data
VOLUME ["/cache"]
ENTRYPOINT ["policytag"]
CMD ["--help"]
