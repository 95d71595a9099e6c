#!/usr/bin/env bash
# The offline checks of the container image and the Helm chart (issue 8):
#  - the chart renders (tests/deploy/render: Helm's template semantics, Go + sprig) for the
#    default values and every helm/fieldwork/ci/*.yaml, NOTES.txt included;
#  - every rendered object validates against the Kubernetes schemas, and validate.js asserts
#    the security context, probes, ports, FIELDWORK_* configuration, Secret references,
#    NetworkPolicy edges (exactly DESIGN.md's calls), Redis AOF/PVC, PDBs, HPAs and monitoring;
#    a self-test proves each kind of check fails on a broken rendering;
#  - the monitoring files in the chart are the ones under deploy/ (one source of truth);
#  - every file the Dockerfile copies exists and is not excluded from the build context;
#  - the runtime package list covers every library the built binaries link (ldd + dpkg -S)
#    and holds no compiler or -dev package;
#  - with a real helm on the PATH: helm lint --strict and helm template for every values file.
# Usage: tests/deploy/check.sh [BUILD_DIR]   (binaries from $FIELDWORK_BIN_DIR or BUILD_DIR/bin)
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="${1:-$repo/build/deploy-check}"
mkdir -p "$build" && build="$(cd "$build" && pwd)"
bin_dir="${FIELDWORK_BIN_DIR:-$build/bin}"
work="$build/tests-deploy"
chart="$repo/helm/fieldwork"
mkdir -p "$work"

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "PASS $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }
finish() {
  echo "$passed passed, $failed failed"
  [[ $failed -eq 0 ]]
  exit
}

# --- Tools: the renderer (GOPATH mode, Debian's sources) and the npm packages -------------
renderer="$work/render"
if [[ ! -x "$renderer" || "$here/render/main.go" -nt "$renderer" ]]; then
  if ! GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE="$work/gocache" \
      bash -c 'cd "$1" && go build -o "$2" .' _ "$here/render" "$renderer" 2>"$work/go-build.log"; then
    cat "$work/go-build.log"
    bad "build the renderer (needs golang-go, golang-github-masterminds-sprig-dev, golang-gopkg-yaml.v3-dev)"
    finish
  fi
fi
for tool in go node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    bad "$tool is on the PATH (Debian packages golang-go, nodejs, npm; see deploy/README.md)"
    finish
  fi
done
if [[ ! -d "$here/node_modules" ]]; then
  if ! (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >"$work/npm.log" 2>&1); then
    cat "$work/npm.log"
    bad "npm ci in tests/deploy"
    finish
  fi
fi

# --- The chart, for the defaults and each ci values file ----------------------------------
validate() {  # name manifests values crds
  if out=$(node "$here/validate.js" --manifests "$2" --values "$3" --crds "$4" --repo "$repo" \
      --dockerfile "$repo/deploy/docker/Dockerfile" 2>&1); then
    ok "$1: schemas and rules ($(tail -1 <<<"$out" | sed 's/^ *//'))"
  else
    echo "$out"
    bad "$1: schemas and rules"
  fi
}

cases=("defaults|")
for f in "$chart"/ci/*.yaml; do cases+=("ci/$(basename "$f")|$f"); done
# The monitoring values without the CRDs: nothing from monitoring.coreos.com may render.
cases+=("ci/monitoring-values.yaml without CRDs|$chart/ci/monitoring-values.yaml|nocrds")

for c in "${cases[@]}"; do
  IFS='|' read -r name file mode <<<"$c"
  args=()
  [[ -n "$file" ]] && args+=(-f "$file")
  api_args=()
  crds=no
  if [[ -n "$file" && "$mode" != nocrds ]]; then
    for a in $(sed -n 's/^# api-versions: //p' "$file"); do api_args+=(-api-versions "$a"); crds=yes; done
  fi
  slug=$(tr -c 'a-zA-Z0-9\n' '_' <<<"$name")
  if ! "$renderer" -chart "$chart" "${args[@]}" "${api_args[@]}" >"$work/$slug.yaml" 2>"$work/$slug.err"; then
    cat "$work/$slug.err"; bad "$name: renders"; continue
  fi
  "$renderer" -chart "$chart" "${args[@]}" -print-values >"$work/$slug.values.json"
  if "$renderer" -chart "$chart" "${args[@]}" "${api_args[@]}" -notes >"$work/$slug.notes" 2>&1 \
      && grep -q "port-forward" "$work/$slug.notes"; then
    ok "$name: renders (manifests and NOTES.txt)"
  else
    cat "$work/$slug.notes"; bad "$name: NOTES.txt renders"
  fi
  validate "$name" "$work/$slug.yaml" "$work/$slug.values.json" "$crds"
  mkdir -p "$work/ts"
  node "$here/validate.js" --manifests "$work/$slug.yaml" --values "$work/$slug.values.json" \
    --emit-ts "$work/ts/$slug.ts"
done

# Unknown fields (a typo such as `imagePullPolicyy`) pass the JSON schemas; TypeScript's
# excess-property check against the kubernetes-models interfaces rejects them at any depth.
tsc_check() {  # tsconfig-path files...
  local cfg="$1"; shift
  local files; files=$(printf '"%s",' "$@"); files="[${files%,}]"
  cat >"$cfg" <<JSON
{"compilerOptions": {"strict": true, "noEmit": true, "skipLibCheck": true, "module": "commonjs",
  "moduleResolution": "node", "typeRoots": [], "types": [],
  "baseUrl": "$here/node_modules", "paths": {"*": ["*"]}},
 "files": $files}
JSON
  node "$here/node_modules/typescript/bin/tsc" -p "$cfg"
}
ts_files=()
for f in "$work"/ts/*.ts; do [[ "$f" == */typo.ts ]] || ts_files+=("$f"); done
if out=$(tsc_check "$work/ts/tsconfig.json" "${ts_files[@]}" 2>&1); then
  ok "no unknown fields in any rendering (tsc excess-property check, ${#ts_files[@]} renderings)"
else
  echo "$out"; bad "unknown fields in the rendered objects"
fi
sed '0,/"imagePullPolicy": /s//"imagePullPolicyy": "Always", "imagePullPolicy": /' \
  "$work/ts/defaults.ts" >"$work/ts/typo.ts"
typo_out=$(tsc_check "$work/ts/tsconfig-typo.json" "$work/ts/typo.ts" 2>&1)
if grep -q imagePullPolicyy <<<"$typo_out"; then
  ok "the unknown-field check catches a misspelt field"
else
  bad "the unknown-field check catches a misspelt field"
fi

if out=$(node "$here/validate.js" --self-test --manifests "$work/defaults.yaml" \
    --values "$work/defaults.values.json" --crds no --repo "$repo" 2>&1); then
  ok "validate.js catches every broken rendering of its self-test ($out)"
else
  echo "$out"; bad "validate.js self-test"
fi

if out=$(node "$here/validate.js" --readme "$chart/README.md" --values "$work/defaults.values.json" 2>&1); then
  ok "helm/fieldwork/README.md documents every value"
else
  echo "$out"; bad "helm/fieldwork/README.md documents every value"
fi

# Values that cannot work are refused with a message naming the value.
refuse() {  # description expected-text values-yaml
  printf '%b' "$3" >"$work/bad-values.yaml"
  if "$renderer" -chart "$chart" -f "$work/bad-values.yaml" >/dev/null 2>"$work/bad.err"; then
    bad "$1 is refused (it rendered)"
  elif grep -q "$2" "$work/bad.err"; then
    ok "$1 is refused: $(sed 's/.*error calling [a-z]*: //' "$work/bad.err")"
  else
    cat "$work/bad.err"; bad "$1: the error names $2"
  fi
}
refuse "external Redis without a URL" "redis.external.url" 'redis:\n  external:\n    enabled: true\n'
refuse "external Redis without NetworkPolicy peers" "redis.external.networkPolicyPeers" 'redis:\n  external:\n    enabled: true\n    url: redis://r:6379/0\n'
refuse "an unknown Redis mode" "redis.mode" 'redis:\n  mode: sentinel\n'
refuse "a Redis Cluster without redis.external" "redis.external.enabled" 'redis:\n  mode: cluster\n'
refuse "a Redis Cluster without nodes" "redis.external.nodes" 'redis:\n  mode: cluster\n  external:\n    enabled: true\n'
refuse "a Redis Cluster given a URL" "not redis.external.url" 'redis:\n  mode: cluster\n  external:\n    enabled: true\n    url: redis://r:6379/0\n    nodes: [r:6379]\n'
refuse "an unknown messaging role" "messaging.role" 'messaging:\n  role: sender\n'
refuse "an unknown appendfsync" "redis.internal.appendfsync" 'redis:\n  internal:\n    appendfsync: sometimes\n'
refuse "appendfsync everysec without config.allowVolatileRedis" "config.allowVolatileRedis" 'redis:\n  internal:\n    appendfsync: everysec\n'
refuse "TLS without a certificate" "tls.cert" 'tls:\n  enabled: true\n'
refuse "the survey form without survey link keys" "surveyLinks.keys" 'surveyIngest:\n  form:\n    enabled: true\n'
refuse "a survey form Ingress without a host" "surveyIngest.ingress.host" 'surveyIngest:\n  ingress:\n    enabled: true\n'

# --- One source of truth for the alert rules and the dashboard ----------------------------
for pair in "files/fieldwork.rules.yaml|deploy/prometheus/rules/fieldwork.rules.yaml" \
            "files/fieldwork-trial.json|deploy/grafana/fieldwork-trial.json"; do
  IFS='|' read -r in_chart source <<<"$pair"
  if [[ ! -f "$repo/$source" ]]; then
    bad "$source exists"
  elif cmp -s "$chart/$in_chart" "$repo/$source"; then
    ok "helm/fieldwork/$in_chart is $source"
  else
    bad "helm/fieldwork/$in_chart differs from $source (it must be a symlink to it)"
  fi
done

# --- The Dockerfile's COPY sources --------------------------------------------------------
dockerfile="$repo/deploy/docker/Dockerfile"
ignore="$repo/deploy/docker/Dockerfile.dockerignore"
copy_fail=0
copies=0
while read -r line; do
  read -ra words <<<"$line"
  srcs=()
  for w in "${words[@]:1}"; do [[ "$w" == --* ]] || srcs+=("$w"); done
  [[ "${words[*]}" == *--from=* ]] && continue
  unset 'srcs[${#srcs[@]}-1]'
  for s in "${srcs[@]}"; do
    copies=$((copies + 1))
    s="${s%/}"
    if ! compgen -G "$repo/$s" >/dev/null; then
      echo "  COPY source $s does not exist"; copy_fail=1
    fi
    while read -r pat; do
      [[ -z "$pat" || "$pat" == \#* ]] && continue
      if [[ "$s" == $pat || "$s" == $pat/* ]]; then echo "  COPY source $s is excluded by $pat"; copy_fail=1; fi
    done <"$ignore"
  done
done < <(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$dockerfile" | grep -E '^COPY ')
if [[ $copy_fail -eq 0 && $copies -gt 0 ]]; then ok "Dockerfile: all $copies COPY sources exist in the build context"
else bad "Dockerfile COPY sources"; fi

# --- Runtime packages against what the binaries link --------------------------------------
pkg_list="$repo/deploy/docker/runtime-packages.txt"
mapfile -t runtime_pkgs < <(grep -v '^[[:space:]]*\(#\|$\)' "$pkg_list" | tr -d ' ')
declare -A in_list=()
for p in "${runtime_pkgs[@]}"; do in_list[$p]=1; done
if grep -E -x '(gcc|g\+\+|cpp|clang.*|build-essential|cmake|ninja-build|make|.*-dev)' <<<"$(printf '%s\n' "${runtime_pkgs[@]}")"; then
  bad "runtime-packages.txt holds no compiler or -dev package"
else
  ok "runtime-packages.txt holds no compiler or -dev package"
fi
unknown=()
for p in "${runtime_pkgs[@]}"; do
  dpkg-query -W "$p" >/dev/null 2>&1 || apt-cache show "$p" >/dev/null 2>&1 || unknown+=("$p")
done
if [[ ${#unknown[@]} -eq 0 ]]; then ok "every runtime package is a Debian package (${#runtime_pkgs[@]})"
else bad "unknown runtime packages: ${unknown[*]}"; fi

image_bins=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$dockerfile" | sed -n 's/^ARG BINARIES="\(.*\)"/\1/p')
found=()
for b in $image_bins; do [[ -x "$bin_dir/$b" ]] && found+=("$b"); done
if [[ ${#found[@]} -eq 0 ]]; then
  bad "no image binary ($image_bins) in $bin_dir to ldd: build first or set FIELDWORK_BIN_DIR"
else
  missing_pkgs=()
  declare -A libs_seen=() owner=()
  for b in "${found[@]}"; do
    while read -r lib path; do
      # Sanitizer runtimes appear only in an asan/ubsan build of the tests, never in the image.
      [[ "$lib" == lib[alt]san.so* || "$lib" == libubsan.so* ]] && continue
      if [[ "$path" == "not" ]]; then missing_pkgs+=("$lib(not found for $b)"); else libs_seen[$path]=1; fi
    done < <(ldd "$bin_dir/$b" | awk '/=>/ {print $1, $3}')
  done
  # One dpkg -S for every library and its /usr-merged spellings (dpkg -S is slow per call).
  candidates=()
  for path in "${!libs_seen[@]}"; do
    real=$(readlink -f "$path")
    candidates+=("$path" "${path#/usr}" "/usr$path" "$real" "${real#/usr}")
  done
  while IFS= read -r line; do
    owner[${line#*: }]="${line%%:*}"
  done < <(dpkg -S "${candidates[@]}" 2>/dev/null)
  for path in "${!libs_seen[@]}"; do
    real=$(readlink -f "$path")
    pkg=""
    for cand in "$path" "${path#/usr}" "/usr$path" "$real" "${real#/usr}"; do
      pkg="${owner[$cand]:-}"; [[ -n "$pkg" ]] && break
    done
    if [[ -z "$pkg" ]]; then missing_pkgs+=("$path(no Debian package)"); continue; fi
    [[ -n "${in_list[$pkg]:-}" ]] || missing_pkgs+=("$pkg(for $(basename "$path"))")
  done
  if [[ ${#missing_pkgs[@]} -eq 0 ]]; then
    ok "runtime-packages.txt covers the ${#libs_seen[@]} libraries that ${found[*]} link"
  else
    bad "runtime-packages.txt lacks: $(printf '%s\n' "${missing_pkgs[@]}" | sort -u | tr '\n' ' ')"
  fi
fi

# --- A real helm, where there is one ------------------------------------------------------
if command -v helm >/dev/null 2>&1; then
  for f in "" "$chart"/ci/*.yaml; do
    name="${f:+ci/$(basename "$f")}"; name="${name:-defaults}"
    fargs=(); [[ -n "$f" ]] && fargs=(-f "$f")
    api=(); [[ -n "$f" ]] && for a in $(sed -n 's/^# api-versions: //p' "$f"); do api+=(--api-versions "$a"); done
    if helm lint --strict "$chart" "${fargs[@]}" >"$work/helm-lint.log" 2>&1; then ok "helm lint --strict ($name)"
    else cat "$work/helm-lint.log"; bad "helm lint --strict ($name)"; fi
    if helm template fieldwork "$chart" --kube-version 1.28.0 "${fargs[@]}" "${api[@]}" \
        >"$work/helm.yaml" 2>"$work/helm.err"; then
      "$renderer" -chart "$chart" "${fargs[@]}" -print-values >"$work/helm.values.json"
      crds=no; [[ ${#api[@]} -gt 0 ]] && crds=yes
      validate "helm template ($name)" "$work/helm.yaml" "$work/helm.values.json" "$crds"
    else cat "$work/helm.err"; bad "helm template ($name)"; fi
  done
else
  echo "SKIP helm lint --strict and helm template: no helm on the PATH"
fi

finish
