#!/usr/bin/env bash
# The quick-start demo: a small generated data set through create → put → commit → tag → list →
# details → files list → get, on the built-in local provider, in a throwaway STRATA_HOME.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d "${TMPDIR:-/tmp}/strata-demo.XXXXXX")
export STRATA_HOME="$work/home"
strata() { node bin/run.cjs "$@"; }
show() { printf '\n\033[1m$ strata %s\033[0m\n' "$*"; strata "$@"; }

node scripts/gen-demo-data.js "$work/cifar-mini"
echo "Generated $(find "$work/cifar-mini" -type f | wc -l) files in $work/cifar-mini; STRATA_HOME=$STRATA_HOME"

show datasets create --name cifar-mini --description "a tiny CIFAR-like sample"
version=$(strata datasets versions create --id cifar-mini --message "first import" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).ref))')
echo "Created dataset version: $version"
show datasets files put --id "$version" --source-path "$work/cifar-mini/"
show datasets versions commit --id "$version"
show datasets tags set --id "$version" --name prod
show datasets list
show datasets versions details --id cifar-mini:prod
show datasets files list --id cifar-mini:prod
show datasets files get --id cifar-mini:prod --target-path "$work/restored"

diff -r "$work/cifar-mini" "$work/restored" >/dev/null
printf '\nRestored tree matches the source byte for byte: %s\n' "$work/restored"
