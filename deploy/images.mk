# Container images, one per service: `make images` (included from the root Makefile).
# Build context is the repository root; each services/<svc>/Dockerfile regenerates the
# gRPC code and installs the service at the versions in requirements.lock.
#
#   make images                                   build all with the default tag
#   make images IMAGE_REGISTRY=registry.city.example/linli IMAGE_TAG=0.1.0
#   make images IMAGE_SERVICES=points             just one

IMAGE_REGISTRY ?= registry.local/linli
IMAGE_TAG ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
IMAGE_SERVICES ?= identity attendance points
DOCKER ?= docker

.PHONY: images
images: ## Build the service images (needs a Docker engine)
	@if ! command -v $(DOCKER) >/dev/null 2>&1 || ! $(DOCKER) info >/dev/null 2>&1; then \
	  echo "images: no Docker engine answers here ('$(DOCKER) info' failed); no image built." >&2; \
	  exit 1; \
	fi
	@set -e; for svc in $(IMAGE_SERVICES); do \
	  echo "images: building $(IMAGE_REGISTRY)/linli-$$svc:$(IMAGE_TAG)"; \
	  DOCKER_BUILDKIT=1 $(DOCKER) build --file services/$$svc/Dockerfile \
	    --tag $(IMAGE_REGISTRY)/linli-$$svc:$(IMAGE_TAG) . ; \
	done
