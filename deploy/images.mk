# Container images, one per service: `make images` (included from the root Makefile).
# Build context is the repository root; deploy/Dockerfile (one for every service, chosen by
# the SERVICE build argument) regenerates the gRPC code and installs the service at the
# versions in requirements.lock.
#
#   make images                                   build all with the default tag
#   make images IMAGE_REGISTRY=registry.city.example/linli IMAGE_TAG=0.1.0
#   make images IMAGE_SERVICES=points             just one

IMAGE_REGISTRY ?= registry.local/linli
IMAGE_TAG ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
IMAGE_SERVICES ?= identity attendance points rewards training partners gateway
DOCKER ?= docker
# Debian packages a service needs at run time, beside the interpreter;
# identity: the OpenMP runtime of onnxruntime, and the GL/GLib libraries opencv-python (an
# insightface dependency) loads.
RUNTIME_PACKAGES_identity := libgomp1 libgl1 libglib2.0-0

.PHONY: images
images: ## Build the service images (needs a Docker engine)
	@if ! command -v $(DOCKER) >/dev/null 2>&1 || ! $(DOCKER) info >/dev/null 2>&1; then \
	  echo "images: no Docker engine answers here ('$(DOCKER) info' failed); no image built." >&2; \
	  exit 1; \
	fi
	@set -e; $(foreach svc,$(IMAGE_SERVICES), \
	  echo "images: building $(IMAGE_REGISTRY)/linli-$(svc):$(IMAGE_TAG)"; \
	  DOCKER_BUILDKIT=1 $(DOCKER) build --file deploy/Dockerfile --build-arg SERVICE=$(svc) \
	    --build-arg RUNTIME_PACKAGES="$(RUNTIME_PACKAGES_$(svc))" \
	    --tag $(IMAGE_REGISTRY)/linli-$(svc):$(IMAGE_TAG) . ;)
