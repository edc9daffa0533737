"""Rebuild the embedded demo's images and classical descriptors from ../shared.

Picks 200 images per vehicle type from the Zenodo "Tiny and Low Quality Images for Vehicle
Classification" set (CC BY 4.0) with a fixed seed, copies the original JPEGs unchanged, and
writes images_paths.csv / labels.csv in the case format (Windows backslash relative paths)
plus descriptors/color-hist.pkl and descriptors/hog.pkl.

    python examples/demo/make_demo_images.py [--source ../shared/data/vehicles-zenodo]
"""

from __future__ import annotations

import argparse
import pickle
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from vehiclust.extract import extract_descriptors

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PER_TYPE = 200
SEED = 20240611
TYPES = ("bike", "car", "juggernaut", "minibus", "pickup", "truck")


def _natural(name: str) -> tuple[str, int]:
    m = re.match(r"(\D*)(\d+)", Path(name).stem)
    return (m.group(1), int(m.group(2))) if m else (name, -1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=REPO.parent / "shared" / "data" / "vehicles-zenodo")
    args = ap.parse_args()
    rng = np.random.default_rng(SEED)
    images = HERE / "images"
    if images.exists():
        shutil.rmtree(images)
    rows = []
    for vtype in TYPES:
        files = sorted((p.name for p in (args.source / vtype).glob("*.jpg")), key=_natural)
        chosen = sorted(rng.choice(files, size=PER_TYPE, replace=False).tolist(), key=_natural)
        (images / vtype).mkdir(parents=True)
        for name in chosen:
            shutil.copy2(args.source / vtype / name, images / vtype / name)
            rows.append((f"images\\{vtype}\\{name}", vtype))
    pd.DataFrame({"paths": [r[0] for r in rows]}).to_csv(HERE / "images_paths.csv", index=False)
    pd.DataFrame(rows, columns=["path", "type"]).to_csv(HERE / "labels.csv", index=False)
    paths = [r[0] for r in rows]
    (HERE / "descriptors").mkdir(exist_ok=True)
    for model in ("color-hist", "hog"):
        ext = extract_descriptors(paths, model, root=HERE, progress=False)
        if len(ext.errors):
            raise SystemExit(f"{model}: {len(ext.errors)} demo images failed: {ext.errors.head()}")
        with open(HERE / "descriptors" / f"{model}.pkl", "wb") as fh:
            pickle.dump(np.ascontiguousarray(ext.features, dtype=np.float32), fh, protocol=4)
        print(f"{model}: {ext.features.shape}")


if __name__ == "__main__":
    main()
