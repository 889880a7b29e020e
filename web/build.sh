#!/usr/bin/env bash
# Builds the dashboard page into src/Coordinator/Web/wwwroot (committed, so the .NET build needs no node).
# Needs node 18+ and npm; installs exactly the locked packages (npm ci), then bundles and minifies with esbuild.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --ignore-scripts
node build.mjs
