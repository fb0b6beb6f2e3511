#!/usr/bin/env bash
# git-collector: refresh or check the vendored front-end assets under ../vendor/.
#
#   scripts/refresh-vendor.sh            install the pinned packages (npm ci, from the npm registry,
#                                        into a temporary directory outside this tree), rebuild the
#                                        GraphiQL bundle, copy uPlot's built files, regenerate
#                                        MANIFEST.md, manifest.json and SHA256SUMS, then --check.
#   scripts/refresh-vendor.sh --check    offline: verify every vendored file against SHA256SUMS and
#                                        that SHA256SUMS, manifest.json and MANIFEST.md agree.
#                                        Needs only bash and coreutils (no node, no network).
#   scripts/refresh-vendor.sh --verify   rebuild into a temporary directory and compare it byte for
#                                        byte with the committed vendor/ (reproducibility check).
#
# To change a version: edit scripts/package.json (exact versions only), then run
#   (cd scripts && npm install --package-lock-only --ignore-scripts) and this script.
# Needs node >= 20 and npm for refresh/--verify. Cargo never needs either.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ui_dir="$(cd "$here/.." && pwd)"
vendor="$ui_dir/vendor"
mode="${1:-refresh}"

check() {
  local dir="$1" status=0
  [ -f "$dir/SHA256SUMS" ] || { echo "check: $dir/SHA256SUMS missing" >&2; return 1; }
  (cd "$dir" && sha256sum --check --strict --quiet SHA256SUMS) || status=1
  # every file is listed, except the manifest files themselves
  while IFS= read -r f; do
    case "$f" in SHA256SUMS|MANIFEST.md|manifest.json) continue ;; esac
    grep -q "  $f\$" "$dir/SHA256SUMS" || { echo "check: $f is not in SHA256SUMS" >&2; status=1; }
  done < <(cd "$dir" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
  # the human and machine manifests carry the same checksums
  while read -r sum f; do
    grep -q "\"sha256\": \"$sum\"" "$dir/manifest.json" || { echo "check: manifest.json disagrees on $f" >&2; status=1; }
    grep -q "| $f | .*\`$sum\`" "$dir/MANIFEST.md" || { echo "check: MANIFEST.md disagrees on $f" >&2; status=1; }
  done < "$dir/SHA256SUMS"
  if [ "$status" = 0 ]; then echo "check: OK ($(wc -l < "$dir/SHA256SUMS") files match $dir/SHA256SUMS)"; fi
  return "$status"
}

build_into() { # $1: staging dir; leaves $1/vendor
  local stage="$1" work
  command -v node >/dev/null && command -v npm >/dev/null || { echo "node and npm are needed to rebuild" >&2; exit 1; }
  work="$(mktemp -d "${TMPDIR:-/tmp}/gc-ui-vendor.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  cp "$here/package.json" "$here/package-lock.json" "$work/"
  # --ignore-scripts: nothing needs an install script (esbuild's binary comes from its
  # @esbuild/<platform> optional dependency).
  (cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  node "$here/build.mjs" --node-modules "$work/node_modules" --out "$stage"
}

case "$mode" in
  --check)
    check "$vendor"
    ;;
  --verify)
    stage="$(mktemp -d "${TMPDIR:-/tmp}/gc-ui-stage.XXXXXX")"
    build_into "$stage" >/dev/null
    if diff -r "$stage/vendor" "$vendor"; then echo "verify: rebuild is byte-identical to $vendor"; rm -rf "$stage"
    else echo "verify: rebuild differs from $vendor (staged in $stage)" >&2; exit 1; fi
    ;;
  refresh|--refresh)
    stage="$(mktemp -d "${TMPDIR:-/tmp}/gc-ui-stage.XXXXXX")"
    build_into "$stage"
    check "$stage/vendor"
    rm -rf "$vendor.old"
    if [ -d "$vendor" ]; then mv "$vendor" "$vendor.old"; fi
    mv "$stage/vendor" "$vendor"
    rm -rf "$vendor.old" "$stage"
    check "$vendor"
    ;;
  -h|--help)
    sed -n '2,18p' "$0"
    ;;
  *)
    echo "usage: $0 [--check|--verify|--help]" >&2; exit 2
    ;;
esac
