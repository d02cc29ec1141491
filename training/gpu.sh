#!/usr/bin/env bash
# Continue the toy model's training on a lent GPU (the `device` tool), then train the unsupervised
# comparison variant (no grounding loss) on the same VAE, and hand both back in pieces small
# enough for the tool (files under 16 MB).
#
# Here, once per session (diffusers is not in the GPU machine's image):
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 -d .whl \
#       diffusers==0.42.1 importlib_metadata    # 6.4 MB; the tree that travels must stay under 64 MB
# Then: run(command="bash training/gpu.sh", carry=[".whl"], timeout_s=590)
# and back here: bash training/gpu.sh --unpack <files_at folder>
#
# Variables: STEPS (main run target, default 20000), UNSUP_STEPS (variant, default the same),
# BUDGET_S (seconds of training in all, default 480: the tool allows 600 a call).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--unpack" ]]; then
    src=${2:?usage: training/gpu.sh --unpack FOLDER}
    for run in toy toy-unsupervised; do
        [[ -e "$src/$run.state.pt.part-aa" ]] || continue
        mkdir -p "training/$run"
        cat "$src/$run.state.pt.part-"* > "training/$run/state.pt.tmp" && mv "training/$run/state.pt.tmp" "training/$run/state.pt"
        tar -C "training/$run" -xf "$src/$run.meta.tar"
        [[ -e "training/$run/vae" ]] || cp -r training/toy/vae "training/$run/vae"
        [[ -e "training/$run/tokenizer" ]] || cp -r training/toy/tokenizer "training/$run/tokenizer"
        echo "unpacked training/$run (step $(python3 -c "import torch; print(torch.load('training/$run/state.pt', weights_only=True)['step'])"))"
    done
    exit 0
fi

OUT=${OUT:?run through the device tool, which sets OUT}
if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site:$PWD
else
    export PYTHONPATH=$PWD
fi
export PYTHONUNBUFFERED=1
STEPS=${STEPS:-20000}
UNSUP_STEPS=${UNSUP_STEPS:-15750}
BUDGET_S=${BUDGET_S:-480}
DEVICE=${DEVICE:-cuda}
started=$(date +%s)
left() { echo $(( BUDGET_S - ($(date +%s) - started) )); }

python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
# the main (grounded) run: finished at 15,750 and out of the tree (its state is at commit b40de46);
# resumed only when its state was put back; killed at its share of the budget, it keeps its last
# checkpoint (every 250 steps)
if [[ -e training/toy/state.pt ]]; then
    timeout $(( $(left) * 2 / 3 )) python3 -m benchmark.cli toy train --out-dir training/toy --steps "$STEPS" \
        --device "$DEVICE" --threads 8 2>&1 | tr '\r' '\n' | grep -v '^unet:' || true
fi
# the unsupervised comparison: same recipe and VAE, no grounding loss; finished at 15,750 and out of
# the tree too (its state is at commit 5e999f5): resumed only when its state was put back
mkdir -p training/toy-unsupervised
[[ -e training/toy-unsupervised/vae ]] || cp -r training/toy/vae training/toy-unsupervised/vae
[[ -e training/toy-unsupervised/tokenizer ]] || cp -r training/toy/tokenizer training/toy-unsupervised/tokenizer
if [[ -e training/toy-unsupervised/state.pt ]] && (( $(left) > 30 )); then
    timeout $(( $(left) - 20 )) python3 -m benchmark.cli toy train --out-dir training/toy-unsupervised \
        --steps "$UNSUP_STEPS" --device "$DEVICE" --threads 8 --ground-weight 0 \
        --pixel-weight 0 2>&1 | tr '\r' '\n' | grep -v '^unet:' || true
fi
# at most 8 files of at most 16 MB come back: per run, the state in two pieces and one tar of logs
for run in toy toy-unsupervised; do
    [[ -e training/$run/state.pt ]] || continue
    split -b 15M "training/$run/state.pt" "$OUT/$run.state.pt.part-"
    (cd "training/$run" && tar -cf "$OUT/$run.meta.tar" $(ls log.jsonl accuracy.jsonl config.json 2>/dev/null))
done
ls -la "$OUT"
