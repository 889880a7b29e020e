#!/usr/bin/env bash
# A few training steps of OpenCLIP's ViT-B-32 on random data on a GPU, for anyone with a CUDA machine:
#   bench/gpu-smoke.sh [DEVICE] [BATCH]        (defaults: cuda:0, 64)
# Needs the CUDA build (docs/gpu.md): dotnet build src/Cli -c Release -p:TorchBackend=cuda -o artifacts/cli-cuda
# Prints samples/s and the process's peak resident memory for fp32 and bf16-mixed, or says why it cannot run. TorchSharp
# 0.107 reads no CUDA memory statistics: watch the GPU's memory with `nvidia-smi dmon -s m` in another terminal.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEVICE="${1:-cuda:0}"
BATCH="${2:-64}"
CLI="${MMCLUSTER_CLI:-$ROOT/artifacts/cli-cuda/mmcluster.dll}"
if [[ ! -f "$CLI" ]]; then
  echo "gpu-smoke: no CUDA build at $CLI; build it with: dotnet build $ROOT/src/Cli/MmCluster.Cli.csproj -c Release -p:TorchBackend=cuda -o $ROOT/artifacts/cli-cuda (docs/gpu.md)" >&2
  exit 2
fi
for precision in fp32 bf16-mixed; do
  dotnet "$CLI" bench step --model ViT-B-32 --device "$DEVICE" --batch "$BATCH" --warmup 2 --steps 5 --precision "$precision"
done
