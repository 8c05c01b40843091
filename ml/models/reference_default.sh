#!/usr/bin/env bash
# Gives ml/models/default.spm its drift reference distributions (per feature and
# per output score, the benign rows of the training parts the repository can
# rebuild: datasets.sh reference_parts) without retraining; train_default.sh
# does the same as its last step. Scoring is unchanged; the sha256 changes.
# Usage (from the repository root, after a build, with ../shared present):
#   ml/models/reference_default.sh [WORK_DIR]
# Needs the nDPI captures (ml/models/split.txt's train part) and python3-scapy.
set -euo pipefail
WORK=${1:-}
if [ -z "$WORK" ]; then WORK=$(mktemp -d /tmp/spectre-ref.XXXXXX); trap 'rm -rf "$WORK"' EXIT; fi
mkdir -p "$WORK"
# shellcheck source=ml/models/datasets.sh
. ml/models/datasets.sh
reference_parts
add_reference ml/models/default.spm
$ml inspect ml/models/default.spm | grep -E '^(sha256|reference)'
