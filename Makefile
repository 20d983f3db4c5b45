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
# libjpeg-turbo (linked statically), which decodes JPEGs as PIL does; protoc and
# python3-crc32c for the independent reader of the TensorBoard event files.
DEB_PACKAGES := build-essential libtorch-dev libopenblas0-pthread libjpeg62-turbo-dev python3-torch \
	python3-torchvision python3-numpy python3-pil python3-scipy dataset-fashion-mnist chromium \
	protobuf-compiler python3-crc32c

.PHONY: all setup lib gogan demo test vet clean

all: gogan

# The main job: DCGAN on Fashion-MNIST (configs/dcgan-fashion-mnist.yaml),
# about five minutes on 2 CPU cores, on the GPU when there is one. Each run
# gets its own folder under runs/.
DEMO_OUT ?= runs/dcgan-fashion-mnist-$(shell date +%Y%m%d-%H%M%S)
demo: gogan
	build/gogan train --config configs/dcgan-fashion-mnist.yaml --set out=$(DEMO_OUT)

gogan: lib
	$(GO) build -o build/gogan .

setup:
	@if [ "$$(id -u)" != 0 ]; then echo "make setup installs Debian packages: run it as root (sudo make setup)"; exit 1; fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEB_PACKAGES)
	$(MAKE) gogan

# The libtorch flavour is found anew on each run; the objects are rebuilt when it changes.
build/torch.mk: FORCE
	@mkdir -p build
	@scripts/libtorch-env --make > $@.new
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; echo "libtorch: $$(grep FLAVOUR $@)"; fi

-include build/torch.mk

build/obj/%.o: cgo/csrc/%.cpp $(HDRS) build/torch.mk
	@mkdir -p build/obj
	$(CXX) $(TORCH_CXXFLAGS) -Wall -Wno-unused-parameter -c $< -o $@

$(LIB): $(OBJS) build/torch.mk
	$(CXX) -o $@ $(OBJS) $(TORCH_LDFLAGS)

lib: $(LIB)

vet: lib
	gofmt -l . | (! grep .) || (echo "gofmt: the files above need formatting"; exit 1)
	$(GO) vet ./...

test: vet
	$(GO) test -count=1 -timeout 40m ./...

clean:
	rm -rf build

.PHONY: FORCE
FORCE:
