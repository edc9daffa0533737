#!/usr/bin/env bash
# Regenerate the demo's deep descriptors and head tables from examples/demo/images.
# Needs the extract extra (pip install 'vehiclust[extract]') and the model files laid out as
# in ../shared/models (override with VEHICLUST_MODELS=/path/to/models). `make demo` does not
# run this: it only reads the files written here.
#
#   bash examples/demo/make_descriptors.sh            # all models
#   bash examples/demo/make_descriptors.sh osnet hog  # only these
set -euo pipefail
DEMO="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$DEMO/../.." && pwd)"
export VEHICLUST_MODELS="${VEHICLUST_MODELS:-$REPO/../shared/models}"
VEHICLUST="${VEHICLUST:-vehiclust}"
command -v "$VEHICLUST" >/dev/null || VEHICLUST="$REPO/.venv/bin/vehiclust"
cd "$DEMO"
mkdir -p descriptors heads
for model in ${*:-efficientnet-lite0 osnet vehicle-attributes mobilenet color-hist hog}; do
  heads=()
  case "$model" in
    efficientnet-lite0) heads=(--heads-out heads/imagenet.csv) ;;
    vehicle-attributes) heads=(--heads-out heads/vehicle-attributes.csv) ;;
  esac
  "$VEHICLUST" extract --paths images_paths.csv --model "$model" --out "descriptors/$model.pkl" "${heads[@]}"
  case "$model" in
    # Each vehicle type's ImageNet probability from the same features, so that `vehiclust run
    # --heads imagenet=...` has the whole evidence and never runs the model again.
    efficientnet-lite0)
      "$REPO/.venv/bin/python" - <<'PY'
import pickle, pandas as pd
from vehiclust.describe import imagenet_masses
heads = pd.read_csv("heads/imagenet.csv", dtype={"path": str}, keep_default_na=False, na_values=[""])
masses = imagenet_masses(pickle.load(open("descriptors/efficientnet-lite0.pkl", "rb")))
heads = pd.concat([heads.drop(columns=[c for c in masses.columns if c in heads]), masses.round(6)], axis=1)
heads.to_csv("heads/imagenet.csv", index=False)
PY
      ;;
  esac
  case "$model" in
    # The two widest sets are stored as float16 to keep the demo under 20 MB; vehiclust
    # casts them back to float32 on load (and notes it in validation.csv).
    efficientnet-lite0|mobilenet)
      "$REPO/.venv/bin/python" -c "import pickle, sys, numpy as np; p = sys.argv[1]; a = pickle.load(open(p, 'rb')); pickle.dump(np.asarray(a, np.float16), open(p, 'wb'), protocol=4)" "descriptors/$model.pkl" ;;
  esac
done
