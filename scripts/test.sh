#!/usr/bin/env bash
# Runs keyhaven's whole test suite on a fresh Debian machine: installs what
# the tests need, then vets and tests every package (unit tests, the storage
# conformance suite, end-to-end tests with the Azure SDKs for Go and
# JavaScript over TLS, and the SIGKILL crash test).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"

need=()
command -v openssl >/dev/null || need+=(openssl)
# The JavaScript SDK test needs Node 20 (skipped on older Node); Debian's own
# nodejs is 18, so it is installed only where no node exists at all.
command -v node >/dev/null || need+=(nodejs npm)
# The Azure CLI end-to-end test (internal/e2e/azcli_test.go) drives az.
command -v az >/dev/null || need+=(azure-cli)
if [ ${#need[@]} -gt 0 ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "installing ${need[*]}" >&2
  log=$(mktemp)
  if ! { "${sudo[@]}" apt-get update -qq &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
fi

unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...
go test -count=1 -race "$@" ./...
