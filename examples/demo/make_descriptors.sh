#!/usr/bin/env bash
# Regenerate the demo's deep descriptors and head tables from examples/demo/images.
# Needs the extract extra (pip install 'vehiclust[extract]') and the model files laid out as
# in ../shared/models (override with VEHICLUST_MODELS=/path/to/models). `make demo` does not
# run this: it only reads the files written here.
#
#   bash examples/demo/make_descriptors.sh
set -euo pipefail
DEMO="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$DEMO/../.." && pwd)"
export VEHICLUST_MODELS="${VEHICLUST_MODELS:-$REPO/../shared/models}"
VEHICLUST="${VEHICLUST:-vehiclust}"
command -v "$VEHICLUST" >/dev/null || VEHICLUST="$REPO/.venv/bin/vehiclust"
cd "$DEMO"
mkdir -p descriptors heads
"$VEHICLUST" extract --paths images_paths.csv --model efficientnet-lite0 --out descriptors/efficientnet-lite0.pkl --heads-out heads/imagenet.csv
"$VEHICLUST" extract --paths images_paths.csv --model osnet --out descriptors/osnet.pkl
"$VEHICLUST" extract --paths images_paths.csv --model vehicle-attributes --out descriptors/vehicle-attributes.pkl --heads-out heads/vehicle-attributes.csv
"$VEHICLUST" extract --paths images_paths.csv --model mobilenet --out descriptors/mobilenet.pkl
"$VEHICLUST" extract --paths images_paths.csv --model color-hist --out descriptors/color-hist.pkl
"$VEHICLUST" extract --paths images_paths.csv --model hog --out descriptors/hog.pkl
