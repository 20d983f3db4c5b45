# gogan build. `make setup` installs everything on Debian 12 (as root) and
# builds; `make test` runs every test.
SHELL := /bin/bash
GO ?= go

LIB := build/libgotorch.so
SRCS := $(wildcard cgo/csrc/*.cpp)
HDRS := $(wildcard cgo/csrc/*.h)
OBJS := $(patsubst cgo/csrc/%.cpp,build/obj/%.o,$(SRCS))

# Debian packages the project needs: libtorch and OpenBLAS (DESIGN.md point 6:
# the reference BLAS is ten times slower), the PyTorch reference for the numeric
# tests, Fashion-MNIST for the main job, Chromium for the report test, and
# libjpeg-turbo and libwebp (linked statically), which decode JPEGs and WebPs as
# PIL does; python3-lmdb, with which torchvision reads LSUN's databases; protoc and
# python3-crc32c for the independent reader of the TensorBoard event files;
# libgloo-dev, the headers of c10d's Gloo backend (data parallelism on CPUs);
# python3-skimage, whose CIE Lab conversions the colorization reference uses.
DEB_PACKAGES := build-essential libtorch-dev libopenblas0-pthread libjpeg62-turbo-dev libwebp-dev python3-torch \
	python3-torchvision python3-numpy python3-pil python3-scipy python3-skimage dataset-fashion-mnist chromium \
	protobuf-compiler python3-crc32c libgloo-dev python3-lmdb

.PHONY: all setup check-go deb-packages lib gogan demo test vet clean

all: gogan

# The main job: DCGAN on Fashion-MNIST (configs/dcgan-fashion-mnist.yaml),
# about five minutes on 2 CPU cores, on the GPU when there is one. Each run
# gets its own folder under runs/.
DEMO_OUT ?= runs/dcgan-fashion-mnist-$(shell date +%Y%m%d-%H%M%S)
demo: gogan
	build/gogan train --config configs/dcgan-fashion-mnist.yaml --set out=$(DEMO_OUT)

# The commit goes into checkpoints and --version (GOFLAGS may turn off Go's
# own VCS stamp).
gogan: lib
	$(GO) build -ldflags "-X gogan/runfolder.Version=$$(git describe --always --dirty 2>/dev/null || echo dev)" -o build/gogan .

# The Debian packages, for .ci/run (which removes them first).
deb-packages:
	@echo $(DEB_PACKAGES)

setup: check-go
	@if [ "$$(id -u)" != 0 ]; then echo "make setup installs Debian packages: run it as root (sudo make setup)"; exit 1; fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEB_PACKAGES)
	$(MAKE) gogan

# The libtorch flavour is found anew on each run, when a recipe needs it (not
# when make starts: `make setup demo` installs libtorch in the same run), and
# the objects are rebuilt when it changes. build/torch.env holds the settings
# as shell assignments, which each compile reads.
build/torch.env: FORCE
	@mkdir -p build
	@scripts/libtorch-env > $@.new || { rm -f $@.new; echo "libtorch not found: run make setup (as root) on Debian 12, or set LIBTORCH"; exit 1; }
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; . ./$@; echo "libtorch: $$TORCH_FLAVOUR"; fi

build/obj/%.o: cgo/csrc/%.cpp $(HDRS) build/torch.env
	@mkdir -p build/obj
	. ./build/torch.env && $(CXX) $$TORCH_CXXFLAGS -Wall -Wno-unused-parameter -c $< -o $@

$(LIB): $(OBJS) build/torch.env
	. ./build/torch.env && $(CXX) -o $@ $(OBJS) $$TORCH_LDFLAGS

lib: $(LIB)

# The Go that go.mod asks for: say so plainly instead of failing in a build
# (run outside the module, so that an older go does not try to fetch a newer).
check-go:
	@need=$$(sed -n 's/^go //p' go.mod); \
	if ! command -v $(GO) >/dev/null 2>&1; then \
		echo "gogan needs Go $$need or newer (go.mod), and there is no $(GO) on PATH: install Go $$need+ and run make again"; exit 1; fi; \
	have=$$(cd / && GOTOOLCHAIN=local $(GO) env GOVERSION | sed 's/^go//'); \
	if [ "$$(printf '%s\n%s\n' "$$need" "$$have" | sort -V | head -n1)" != "$$need" ]; then \
		echo "gogan needs Go $$need or newer (go.mod); $(GO) is Go $$have: install Go $$need+ and run make again"; exit 1; fi

vet: lib
	gofmt -l . | (! grep .) || (echo "gofmt: the files above need formatting"; exit 1)
	$(GO) vet ./...

# The test binaries run libtorch in their own process, and go test runs two
# at once: their OpenMP threads wait as the gogan commands' do
# (torch.SpinBriefly), unless OMP_WAIT_POLICY or GOMP_SPINCOUNT says otherwise.
test: vet
	$(if $(GOMP_SPINCOUNT)$(OMP_WAIT_POLICY),,GOMP_SPINCOUNT=3000) $(GO) test -count=1 -timeout 40m ./...

clean:
	rm -rf build

.PHONY: FORCE
FORCE:

# Fuzzing: every reader of bytes from outside has a native Go fuzz target.
# `make fuzz` runs each for FUZZTIME (e.g. make fuzz FUZZTIME=10m); a crasher
# is written to its package's testdata/fuzz/<target>/, where make test
# replays it. Go's coordinator can end a clean run with a bare "context
# deadline exceeded" and no crasher (golang/go#75804): such a run passes.
FUZZTIME ?= 1m
FUZZ_TARGETS := cgo:FuzzLoadPTH cgo:FuzzPTHPickle cgo:FuzzLoadSafetensors data:FuzzReadIDX \
	data:FuzzDecodeJPEG data:FuzzDecodeImage runfolder:FuzzValidateCheckpoint config:FuzzLoadConfig eval:FuzzParseNpy pickle:FuzzRead \
	lmdb:FuzzOpen runfolder:FuzzMetrics report:FuzzLossPlot data:FuzzParseCIFARBatch data:FuzzLoadMaps data:FuzzDecodePNM \
	eval:FuzzReadStats

.PHONY: fuzz
fuzz: lib
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t#*:}; echo "fuzz: $$name in ./$$pkg for $(FUZZTIME)"; \
		out=$$($(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10s ./$$pkg 2>&1); rc=$$?; \
		echo "$$out" | grep '^fuzz: elapsed' | tail -n 1; \
		if [ $$rc != 0 ]; then \
			if echo "$$out" | grep -q 'context deadline exceeded' && ! echo "$$out" | grep -q 'Failing input written'; then \
				echo "fuzz: $$name: the coordinator's end-of-run deadline race, no crasher (golang/go#75804)"; \
			else echo "$$out"; exit 1; fi; \
		fi; \
	done
