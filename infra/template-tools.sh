#!/usr/bin/env bash
# Tooling around template.yaml (the SAM template for the cloud stack).
#
#   infra/template-tools.sh install   venv at <repo>/.venv with the pinned tools
#                                     from infra/requirements-tools.txt
#   infra/template-tools.sh lint      cfn-lint + `sam validate --lint` (offline)
#   infra/template-tools.sh build     `sam build` (offline): arm64 bootstrap
#                                     binaries via cargo-lambda in .aws-sam/build
#
# Extra arguments after `build` are passed on to `sam build`.
# Environment: PYTHON (interpreter used to create the venv, default python3),
# CARGO_TARGET_DIR (honoured by cargo, cargo-lambda and sam alike).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
REQUIREMENTS="$ROOT/infra/requirements-tools.txt"
STAMP="$VENV/.template-tools.stamp"
TEMPLATE="$ROOT/template.yaml"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'template-tools: %s\n' "$*" >&2; exit 1; }

# Everything here must work with no AWS account and no network: sam and
# cfn-lint only need a region, and botocore is happy with dummy keys.
offline_env() {
    export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
    export AWS_REGION="${AWS_REGION:-$AWS_DEFAULT_REGION}"
    export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-testing}"
    export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-testing}"
    export SAM_CLI_TELEMETRY=0
    export PATH="$VENV/bin:$PATH"
}

stamp_key() {
    {
        sha256sum "$REQUIREMENTS" | cut -d' ' -f1
        "$VENV/bin/python" -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1
}

tools_present() {
    [[ -x "$VENV/bin/python" && -x "$VENV/bin/sam" && -x "$VENV/bin/cfn-lint" \
        && -x "$VENV/bin/cargo-lambda" ]]
}

cmd_install() {
    local start=$SECONDS
    mkdir -p "$VENV"
    # Serialise concurrent installs into the shared venv.
    exec 9>"$VENV/.template-tools.lock"
    flock 9
    if [[ ! -x "$VENV/bin/python" ]]; then
        log "creating venv $VENV"
        "${PYTHON:-python3}" -m venv "$VENV"
    fi
    if tools_present && [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(stamp_key)" ]]; then
        log "tools up to date ($VENV)"
    else
        log "installing $(grep -cE '^[a-zA-Z]' "$REQUIREMENTS") pinned tools into $VENV"
        "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -q \
            -r "$REQUIREMENTS"
        stamp_key >"$STAMP"
        log "installed in $((SECONDS - start))s"
    fi
    exec 9>&-
}

require_tools() {
    tools_present || die "tools missing: run '$0 install' first"
}

cmd_lint() {
    require_tools
    offline_env
    cd "$ROOT"
    log "cfn-lint $(cfn-lint --version | awk '{print $2}')"
    cfn-lint -- template.yaml
    log "sam validate --lint"
    sam validate --lint --template-file template.yaml
    log "lint clean"
}

# One line per function built with rust-cargolambda:
#   <LogicalId> <Binary> <Architecture> <Runtime>
function_builds() {
    "$VENV/bin/python" - "$TEMPLATE" <<'PY'
import sys
from cfnlint.decode import decode

template, errors = decode(sys.argv[1])
if errors or template is None:
    sys.exit("template.yaml does not parse: %s" % errors)
glob = (template.get("Globals") or {}).get("Function") or {}
for name, res in (template.get("Resources") or {}).items():
    if res.get("Type") != "AWS::Serverless::Function":
        continue
    meta = res.get("Metadata") or {}
    if meta.get("BuildMethod") != "rust-cargolambda":
        continue
    props = res.get("Properties") or {}
    binary = (meta.get("BuildProperties") or {}).get("Binary")
    if not binary:
        sys.exit("%s: Metadata.BuildProperties.Binary is required" % name)
    arch = (props.get("Architectures") or glob.get("Architectures") or ["x86_64"])[0]
    runtime = props.get("Runtime") or glob.get("Runtime") or "provided.al2023"
    print(name, binary, arch, runtime)
PY
}

# The `cargo lambda build` target flags that sam's rust-cargolambda builder
# passes (aws_lambda_builders/workflows/rust_cargo/actions.py), so that our
# pre-build produces exactly the artifacts sam's own invocation looks for.
cargo_lambda_target_flags() {
    local arch="$1" runtime="$2"
    case "$runtime/$arch" in
        provided.al2/arm64) echo "--target aarch64-unknown-linux-gnu.2.26" ;;
        provided.al2/x86_64) echo "--target x86_64-unknown-linux-gnu.2.26" ;;
        */arm64) echo "--arm64" ;;
        *) echo "" ;;
    esac
}

rust_triple() {
    case "$1" in
        arm64) echo aarch64-unknown-linux-gnu ;;
        *) echo x86_64-unknown-linux-gnu ;;
    esac
}

elf_machine() {
    case "$(od -An -tx1 -j18 -N2 "$1" | tr -d ' \n')" in
        b700) echo aarch64 ;;
        3e00) echo x86_64 ;;
        *) echo "not an ELF for Lambda" ;;
    esac
}

cmd_build() {
    require_tools
    offline_env
    cd "$ROOT"
    local start=$SECONDS builds
    builds="$(function_builds)"
    [[ -n "$builds" ]] || die "no rust-cargolambda functions in template.yaml"

    local arch runtime triple flags bins
    while read -r arch; do
        triple="$(rust_triple "$arch")"
        if ! rustup target list --installed | grep -qx "$triple"; then
            log "rustup target add $triple"
            rustup target add "$triple"
        fi
    done < <(awk '{print $3}' <<<"$builds" | sort -u)

    # sam builds one function at a time, each with its own
    # `cargo lambda build --release --bin X`. All of them share the
    # workspace's target directory (sam resolves it with `cargo metadata`), so
    # the dependency graph is compiled once either way; building every binary
    # in one cargo invocation first additionally lets cargo run the final
    # (fat-LTO, single codegen unit) compile+link of the binaries in parallel.
    # sam's per-function invocations that follow are then no-ops that only
    # copy target/lambda/<bin>/bootstrap.
    while read -r arch runtime; do
        flags="$(cargo_lambda_target_flags "$arch" "$runtime")"
        bins="$(awk -v a="$arch" -v r="$runtime" '$3 == a && $4 == r {printf " --bin %s", $2}' <<<"$builds")"
        log "cargo lambda build --release $flags$bins"
        # shellcheck disable=SC2086 # flags and bins are lists of words
        cargo lambda build --release $flags $bins
    done < <(awk '{print $3, $4}' <<<"$builds" | sort -u)
    local compiled=$SECONDS

    # --cached is deliberately not used: with CodeUri "." sam would hash the
    # whole repo (target/ and .venv included) on every run; cargo's own
    # fingerprints are the cache. --parallel buys nothing: the cargo runs
    # would only queue on the target directory lock.
    log "sam build"
    sam build --build-in-source --template-file template.yaml "$@"

    log "built in $((SECONDS - start))s (cargo $((compiled - start))s, sam $((SECONDS - compiled))s)"
    local name binary file size machine
    while read -r name binary arch runtime; do
        file=".aws-sam/build/$name/bootstrap"
        [[ -f "$file" ]] || die "missing $file"
        size="$(stat -c %s "$file")"
        machine="$(elf_machine "$file")"
        printf '%-20s %-10s %10s bytes (%s) %s\n' "$name" "$binary" "$size" \
            "$(numfmt --to=iec-i --suffix=B --format='%.1f' "$size")" "$machine"
        [[ "$machine" == "$(rust_triple "$arch" | cut -d- -f1)" ]] \
            || die "$file is $machine, template says $arch"
    done <<<"$builds"
}

usage() {
    sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

case "${1:-}" in
    install) shift; cmd_install "$@" ;;
    lint) shift; cmd_lint "$@" ;;
    build) shift; cmd_build "$@" ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
esac
