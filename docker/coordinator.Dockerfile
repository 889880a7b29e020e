# The coordinator image: ASP.NET runtime + src/Coordinator only (its own entry point, Program.cs), no TorchSharp and no
# libtorch. Build from the repository root:
#   docker build -f docker/coordinator.Dockerfile -t ghcr.io/mmcluster/mmcluster-coordinator:TAG .
# Entry point: MmCluster.Coordinator.dll; the manifests give args [coordinator] and MMCLUSTER_* variables.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Build.targets Directory.Packages.props .editorconfig ./
COPY build/ build/
COPY protos/ protos/
COPY src/Shared/MmCluster.Shared.csproj src/Shared/
COPY src/Coordinator/MmCluster.Coordinator.csproj src/Coordinator/
RUN dotnet restore src/Coordinator/MmCluster.Coordinator.csproj
COPY src/Shared/ src/Shared/
COPY src/Coordinator/ src/Coordinator/
RUN dotnet publish src/Coordinator/MmCluster.Coordinator.csproj -c Release --no-restore -p:UseAppHost=false -o /app \
    && test ! -e /app/TorchSharp.dll

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS final
# auto_import: fashion-mnist reads Debian's dataset package; install it at build time (the container runs as non-root).
ARG FASHION_MNIST=1
RUN if [ "$FASHION_MNIST" = "1" ]; then \
        apt-get update && apt-get install -y --no-install-recommends dataset-fashion-mnist && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /app
COPY --from=build /app .
# The .NET images' non-root user (uid 1654), as the manifests' securityContext expects.
USER $APP_UID
EXPOSE 4053 5080 5081
ENTRYPOINT ["dotnet", "MmCluster.Coordinator.dll"]
