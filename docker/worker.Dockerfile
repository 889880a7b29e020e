# The worker image: the mmcluster CLI (its `worker` role) with TorchSharp and libtorch. Build from the repository root:
#   CPU:  docker build -f docker/worker.Dockerfile -t ghcr.io/mmcluster/mmcluster-worker:TAG .
#   CUDA: docker build -f docker/worker.Dockerfile --build-arg TORCH_BACKEND=cuda -t ghcr.io/mmcluster/mmcluster-worker-cuda:TAG .
# TORCH_BACKEND=cuda swaps libtorch-cpu-linux-x64 for libtorch-cuda-12.8-linux-x64 (src/Worker's csproj); that package
# is not served by this machine's package mirror, so the CUDA image cannot be built here. The publish step patches
# libLibTorchSharp.so for older libstdc++ (Directory.Build.targets, a no-op where libstdc++ is new enough).
# Entry point: mmcluster.dll; the manifests give args [worker] and MMCLUSTER_* variables.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG TORCH_BACKEND=cpu
WORKDIR /src
COPY Directory.Build.props Directory.Build.targets Directory.Packages.props .editorconfig ./
COPY build/ build/
COPY protos/ protos/
COPY src/Shared/MmCluster.Shared.csproj src/Shared/
COPY src/Coordinator/MmCluster.Coordinator.csproj src/Coordinator/
COPY src/Worker/MmCluster.Worker.csproj src/Worker/
COPY src/Cli/MmCluster.Cli.csproj src/Cli/
RUN dotnet restore src/Cli/MmCluster.Cli.csproj -p:TorchBackend=$TORCH_BACKEND
COPY src/ src/
RUN dotnet publish src/Cli/MmCluster.Cli.csproj -c Release --no-restore -p:TorchBackend=$TORCH_BACKEND -p:UseAppHost=false -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS final
WORKDIR /app
COPY --from=build /app .
USER $APP_UID
# The worker's gen0 GC budget (docs/fault-tolerance.md, "libtorch step failures")
ENV DOTNET_GCgen0size=0x10000000
EXPOSE 4053 5090
ENTRYPOINT ["dotnet", "mmcluster.dll"]
