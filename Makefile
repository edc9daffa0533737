# vehiclust — `make demo` runs the whole job on the embedded demo; `make test` runs the tests.
# Both bootstrap .venv on first use (a second run reuses it); the install ends by compiling the
# numba kernels the job uses (python -m vehiclust.warmup, ~1 min), so the first demo does not.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DEMO   := examples/demo

.PHONY: demo test venv clean bench-load

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[extract,dask,test]"
	$(BIN)/python -m vehiclust.warmup
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/vehiclust run \
	  --descriptors efficientnet-lite0=$(DEMO)/descriptors/efficientnet-lite0.pkl \
	  --descriptors osnet=$(DEMO)/descriptors/osnet.pkl \
	  --descriptors vehicle-attributes=$(DEMO)/descriptors/vehicle-attributes.pkl \
	  --descriptors color-hist=$(DEMO)/descriptors/color-hist.pkl \
	  --mix osnet+vehicle-attributes --mix all \
	  --heads vehicle-attributes=$(DEMO)/heads/vehicle-attributes.csv \
	  --heads imagenet=$(DEMO)/heads/imagenet.csv \
	  --paths $(DEMO)/images_paths.csv --images $(DEMO) --labels $(DEMO)/labels.csv \
	  --out demo-output --seed 0

test: $(STAMP)
	-@bash scripts/install-chromium.sh
	$(BIN)/python -m pytest -q

bench-load: $(STAMP)
	$(BIN)/python bench/load.py

clean:
	rm -rf demo-output vehiclust-output .pytest_cache
