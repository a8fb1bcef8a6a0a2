# The two commands of the README:  `make demo`  and  `make test`.
# Everything is installed into .venv from the package registries; nothing else is downloaded.

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# bpy writes to ~/.config/blender and ~/.cache: keep test runs inside the build folder.
TEST_ENV := HOME=$(CURDIR)/build/home XDG_CONFIG_HOME=$(CURDIR)/build/home/.config \
            XDG_CACHE_HOME=$(CURDIR)/build/home/.cache VIDEOMOCAP_CACHE=$(CURDIR)/build/cache

.PHONY: install demo test bench sample clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required (bpy 5.0.1 wheels are built for it)"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch is pinned to 2.13.0; where a CPU build of it is offered locally (pip's find-links),
	# pip takes it and never pulls the multi-GB CUDA packages.
	$(PY) -m pip install --disable-pip-version-check -q -e ".[test]"
	touch $@

install: $(STAMP)

demo: $(STAMP)
	mkdir -p out
	$(BIN)/videomocap capture assets/sample.mp4 -o out/sample.mocap.npz
	$(BIN)/videomocap blend out/sample.mocap.npz -o out/sample.blend --fbx out/sample.fbx \
	    --preview out/sample_preview.png --video assets/sample.mp4

test: $(STAMP)
	mkdir -p build/home build/cache
	$(TEST_ENV) $(PY) -m pytest -q

# Accuracy and speed on rendered ground-truth scenes; rewrites docs/benchmarks.md.
# Renders are cached under build/bench (content-hashed), so a second run only captures and scores.
bench: $(STAMP)
	$(TEST_ENV) $(BIN)/videomocap bench --suite default --json build/bench/report.json \
	    --markdown docs/benchmarks.md

# Re-render the sample video and its ground truth from CMU mocap (see assets/README.md).
sample: $(STAMP)
	$(TEST_ENV) $(PY) -m videomocap.bench.scene --mocap ../shared/data/mocap/animdraw/old_cmu_1006_walking.bvh \
	    --camera static --seed 0 --start-seconds 2.5 --seconds 9 -o assets/sample.mp4

clean:
	rm -rf build out dist
