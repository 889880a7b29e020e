using System.CommandLine;
using System.Net;
using MmCluster.Shared.Hosting;

namespace MmCluster.Coordinator.Hosting;

/// <summary>
/// The <c>coordinator</c> process role: the same command (flags and <c>MMCLUSTER_*</c> variables) in the <c>mmcluster</c>
/// CLI and in the coordinator's own executable (<c>MmCluster.Coordinator</c>, the container image without libtorch).
/// </summary>
public static class CoordinatorCommand
{
    /// <summary>The Akka cluster port the coordinator (the seed node) listens on unless told otherwise.</summary>
    public const int DefaultAkkaPort = 4053;

    public static Command Create()
    {
        var spec = EnvOption.Create<string?>("--spec", "MMCLUSTER_SPEC", "Run spec (YAML or JSON)", null);
        var runDir = EnvOption.Create<string?>("--run-dir", "MMCLUSTER_RUN_DIR", "Run directory: checkpoints, metrics.jsonl, summary.json", null);
        var world = EnvOption.Create<int?>("--workers", "MMCLUSTER_WORKERS", "World size (default: the spec's world_size)", null);
        var host = EnvOption.Create("--host", "MMCLUSTER_HOST", "Address to bind the cluster port to", "127.0.0.1");
        var publicHost = EnvOption.Create<string?>("--public-host", "MMCLUSTER_PUBLIC_HOST", "Address other members reach this one at", null);
        var port = EnvOption.Create("--port", "MMCLUSTER_PORT", "Akka cluster port", DefaultAkkaPort);
        var dashboardHost = EnvOption.Create("--dashboard-host", "MMCLUSTER_DASHBOARD_HOST", "Address to bind the dashboards (gRPC and web) to", "127.0.0.1");
        var dashboardPort = EnvOption.Create("--dashboard-port", "MMCLUSTER_DASHBOARD_PORT", "Dashboard (gRPC, h2c) port", 5080);
        var webPort = EnvOption.Create("--web-port", "MMCLUSTER_WEB_PORT", "Web dashboard (page, JSON API, events; HTTP/1.1) port, bound like the dashboard (0: any free port)", Web.WebDashboardOptions.DefaultPort);
        var token = EnvOption.Create<string?>("--token", "MMCLUSTER_TOKEN", "Bearer token for the dashboard and the collectives", null);
        var resume = EnvOption.Create("--resume", "MMCLUSTER_RESUME", "Resume from the run directory's latest committed checkpoint", false);
        var resumeUnfinished = EnvOption.Create("--resume-unfinished", "MMCLUSTER_RESUME_UNFINISHED",
            "Resume when the run directory's journal holds a run that has not ended (a restarted coordinator pod); start fresh otherwise", false);
        var threads = EnvOption.Create("--threads", "MMCLUSTER_THREADS", "Torch threads per worker", 1);
        var rendezvous = EnvOption.Create("--rendezvous-timeout", "MMCLUSTER_RENDEZVOUS_TIMEOUT", "Seconds to wait for every worker to join (0: forever)", 600.0);
        var command = new Command("coordinator", "Run the coordinator of one run (the cluster's seed node and the dashboard).")
        {
            spec, runDir, world, host, publicHost, port, dashboardHost, dashboardPort, webPort, token, resume, resumeUnfinished, threads, rendezvous,
        };
        command.SetAction(async (result, ct) => await CommandGuard.RunAsync("coordinator", () =>
        {
            var specPath = result.GetValue(spec) ?? throw new ArgumentException("--spec (or MMCLUSTER_SPEC) is required");
            var launch = new LaunchOptions
            {
                SpecPath = specPath,
                RunDirectory = result.GetValue(runDir) ?? Path.Combine("runs", Path.GetFileNameWithoutExtension(specPath)),
                WorldSize = result.GetValue(world),
                Host = result.GetValue(host)!,
                PublicHost = result.GetValue(publicHost),
                AkkaPort = result.GetValue(port),
                DashboardAddress = ParseAddress(result.GetValue(dashboardHost)!),
                DashboardPort = result.GetValue(dashboardPort),
                WebPort = result.GetValue(webPort),
                Token = result.GetValue(token),
                Resume = result.GetValue(resume),
                ResumeUnfinished = result.GetValue(resumeUnfinished),
                ThreadsPerWorker = result.GetValue(threads),
                RendezvousTimeout = result.GetValue(rendezvous) > 0 ? TimeSpan.FromSeconds(result.GetValue(rendezvous)) : null,
            };
            return RunLauncher.RunAsync(launch, ct);
        }));
        return command;
    }

    /// <summary>A bind address: an IP address, <c>*</c> or <c>0.0.0.0</c> (every interface) or <c>localhost</c>.</summary>
    public static IPAddress ParseAddress(string text, string option = "--dashboard-host") =>
        text is "*" or "0.0.0.0" ? IPAddress.Any
        : IPAddress.TryParse(text, out var address) ? address
        : text == "localhost" ? IPAddress.Loopback
        : throw new ArgumentException($"{option}: '{text}' is not an IP address");
}
