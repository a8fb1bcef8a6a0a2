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

.PHONY: install demo test test-blender-lts bench sample clean extension

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

# The Blender-tier build tests again under Blender 4.2 LTS (bpy 4.2.23: legacy action.fcurves
# instead of layered actions). Not part of `make test`: it installs a second ~300 MB bpy wheel.
LTS_VENV := build/venv-bpy42
test-blender-lts: $(STAMP)
	test -x $(LTS_VENV)/bin/python || $(PYTHON) -m venv $(LTS_VENV)
	$(LTS_VENV)/bin/python -m pip install --disable-pip-version-check -q "bpy==4.2.23" "numpy<2" \
	    "opencv-contrib-python==4.11.0.86" pytest
	$(LTS_VENV)/bin/python -m pip install --disable-pip-version-check -q --no-deps -e .
	mkdir -p build/lts build/home
	$(TEST_ENV) $(BIN)/videomocap capture ../shared/data/video/vtest.avi --start 100 --end 130 \
	    -o build/lts/street.mocap.npz --progress none
	$(TEST_ENV) VIDEOMOCAP_TEST_CAPTURE=$(CURDIR)/build/lts/street.mocap.npz \
	    $(LTS_VENV)/bin/python -m pytest -q tests/blender/test_build.py

# Accuracy and speed on rendered ground-truth scenes; rewrites docs/benchmarks.md.
# Renders are cached under build/bench (content-hashed), so a second run only captures and scores.
bench: $(STAMP)
	$(TEST_ENV) $(BIN)/videomocap bench --suite default --json build/bench/report.json \
	    --markdown docs/benchmarks.md

# Re-render the sample video and its ground truth from CMU mocap (see assets/README.md).
sample: $(STAMP)
	$(TEST_ENV) $(PY) -m videomocap.bench.scene --mocap ../shared/data/mocap/animdraw/old_cmu_1006_walking.bvh \
	    --camera static --seed 0 --start-seconds 2.5 --seconds 9 -o assets/sample.mp4

# The Blender extension zip (dist/videomocap-<version>.zip), built and validated with Blender's own
# extension tool from the bpy module; see README "Blender extension".
extension: $(STAMP)
	$(PY) tools/build_extension.py --output-dir dist

clean:
	rm -rf build out dist
