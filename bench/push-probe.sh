#!/usr/bin/env bash
# Measures pushing 32 MiB each way per round between two local processes through Kestrel (see push-probe/Program.cs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROUNDS="${1:-60}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
dotnet build "$HERE/push-probe/PushProbe.csproj" -c Release -o "$OUT" -v quiet -nologo -clp:ErrorsOnly >&2
A=$((40000 + RANDOM % 10000)); B=$((A + 1))
for copy in 0 1; do
  dotnet "$OUT/push-probe.dll" "$A" "$B" "$ROUNDS" "$copy" &
  dotnet "$OUT/push-probe.dll" "$B" "$A" "$ROUNDS" "$copy"
  wait
done
