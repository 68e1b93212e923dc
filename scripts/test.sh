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
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
  fi
fi

unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...
go test -count=1 -race "$@" ./...
