using System.CommandLine;
using System.Net;
using MmCluster.Cli.Hosting;
using MmCluster.Coordinator.Hosting;
using MmCluster.Shared.Hosting;
using MmCluster.Shared.Spec;
using MmCluster.Worker.Actors;
using MmCluster.Worker.Hosting;
using MmCluster.Worker.Runtime;
using MmCluster.Worker.Services;

namespace MmCluster.Cli.Commands;

/// <summary>
/// The run commands: <c>dev</c> (a local multi-process cluster), and the two process roles it starts, which
/// Kubernetes starts too: <c>coordinator</c> and <c>worker</c>. Every flag also reads an environment variable
/// (<c>MMCLUSTER_*</c>), which is how the k8s manifests configure them.
/// </summary>
internal static class RunCommands
{
    public static IEnumerable<Command> Create()
    {
        yield return DevCommand.Create();
        yield return Coordinator();
        yield return Worker();
    }

    internal static Option<T> Flag<T>(string name, string env, string description, T fallback)
    {
        return new Option<T>(name)
        {
            Description = $"{description} (env {env})",
            DefaultValueFactory = _ => FromEnvironment(env, fallback),
        };
    }

    private static T FromEnvironment<T>(string env, T fallback)
    {
        var text = Environment.GetEnvironmentVariable(env);
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }
        var type = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        try
        {
            return (T)(type == typeof(bool) ? text is "1" or "true" or "True" : Convert.ChangeType(text, type, System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (FormatException)
        {
            throw new ArgumentException($"environment variable {env}='{text}' is not a valid {type.Name}");
        }
    }

    private static Command Coordinator()
    {
        var spec = Flag<string?>("--spec", "MMCLUSTER_SPEC", "Run spec (YAML or JSON)", null);
        var runDir = Flag<string?>("--run-dir", "MMCLUSTER_RUN_DIR", "Run directory: checkpoints, metrics.jsonl, summary.json", null);
        var world = Flag<int?>("--workers", "MMCLUSTER_WORKERS", "World size (default: the spec's world_size)", null);
        var host = Flag("--host", "MMCLUSTER_HOST", "Address to bind the cluster port to", "127.0.0.1");
        var publicHost = Flag<string?>("--public-host", "MMCLUSTER_PUBLIC_HOST", "Address other members reach this one at", null);
        var port = Flag("--port", "MMCLUSTER_PORT", "Akka cluster port", 4053);
        var dashboardHost = Flag("--dashboard-host", "MMCLUSTER_DASHBOARD_HOST", "Address to bind the dashboard to", "127.0.0.1");
        var dashboardPort = Flag("--dashboard-port", "MMCLUSTER_DASHBOARD_PORT", "Dashboard (gRPC, h2c) port", 5080);
        var token = Flag<string?>("--token", "MMCLUSTER_TOKEN", "Bearer token for the dashboard and the collectives", null);
        var resume = Flag("--resume", "MMCLUSTER_RESUME", "Resume from the run directory's latest committed checkpoint", false);
        var threads = Flag("--threads", "MMCLUSTER_THREADS", "Torch threads per worker", 1);
        var rendezvous = Flag("--rendezvous-timeout", "MMCLUSTER_RENDEZVOUS_TIMEOUT", "Seconds to wait for every worker to join (0: forever)", 600.0);
        var command = new Command("coordinator", "Run the coordinator of one run (the cluster's seed node and the dashboard).")
        {
            spec, runDir, world, host, publicHost, port, dashboardHost, dashboardPort, token, resume, threads, rendezvous,
        };
        command.SetAction(async (result, ct) =>
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
                Token = result.GetValue(token),
                Resume = result.GetValue(resume),
                ThreadsPerWorker = result.GetValue(threads),
                RendezvousTimeout = result.GetValue(rendezvous) > 0 ? TimeSpan.FromSeconds(result.GetValue(rendezvous)) : null,
            };
            return await Guard("coordinator", () => RunLauncher.RunAsync(launch, ct));
        });
        return command;
    }

    private static Command Worker()
    {
        var coordinator = Flag<string?>("--coordinator", "MMCLUSTER_COORDINATOR", "The coordinator's cluster address, e.g. akka.tcp://mmcluster@127.0.0.1:4053", null);
        var host = Flag("--host", "MMCLUSTER_HOST", "Address to bind the cluster port and the collectives to", "127.0.0.1");
        var publicHost = Flag<string?>("--public-host", "MMCLUSTER_PUBLIC_HOST", "Address other members reach this one at", null);
        var port = Flag("--port", "MMCLUSTER_PORT", "Akka cluster port (0: any free port)", 0);
        var grpcPort = Flag("--grpc-port", "MMCLUSTER_GRPC_PORT", "Collectives gRPC port (0: any free port)", 0);
        var id = Flag<string?>("--worker-id", "MMCLUSTER_WORKER_ID", "Worker id (default: host name and pid)", null);
        var threads = Flag("--threads", "MMCLUSTER_THREADS", "Torch threads", 1);
        var token = Flag<string?>("--token", "MMCLUSTER_TOKEN", "Bearer token shared by the workers' collectives", null);
        var command = new Command("worker", "Run one training worker: joins the coordinator's cluster and trains its rank.")
        {
            coordinator, host, publicHost, port, grpcPort, id, threads, token,
        };
        command.SetAction(async (result, ct) => await Guard("worker", async () =>
        {
            var seed = result.GetValue(coordinator) ?? throw new ArgumentException("--coordinator (or MMCLUSTER_COORDINATOR) is required");
            var bindHost = result.GetValue(host)!;
            var advertised = result.GetValue(publicHost) ?? bindHost;
            var workerId = result.GetValue(id) ?? $"{Environment.MachineName}-{Environment.ProcessId}";
            var secret = result.GetValue(token) ?? "";
            await using var server = await CollectiveServer.StartAsync(bindHost, result.GetValue(grpcPort), ct);
            var collectiveAddress = $"http://{advertised}:{server.Port}";
            Console.WriteLine($"worker {workerId}: collectives at {collectiveAddress}, joining {seed}");
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            Exception? failure = null;
            var session = StageSessionRouter.WithBuiltInKinds(server, secret,
                message => Console.WriteLine($"worker {workerId}: {message}"),
                e =>
                {
                    failure = e;
                    Console.Error.WriteLine($"worker {workerId}: training failed: {e}");
                    stop.Cancel();
                });
            var options = new WorkerOptions
            {
                Akka = new AkkaSettings { Hostname = bindHost, PublicHostname = result.GetValue(publicHost), Port = result.GetValue(port), SeedNodes = [seed] },
                Agent = new WorkerAgentSettings(workerId, collectiveAddress, "cpu", result.GetValue(threads)),
            };
            var ended = await WorkerHost.RunAsync(options, session, stop.Token);
            return failure is null ? ended.ExitCode : 1;
        }));
        return command;
    }

    private static IPAddress ParseAddress(string text) =>
        text is "*" or "0.0.0.0" ? IPAddress.Any
        : IPAddress.TryParse(text, out var address) ? address
        : text == "localhost" ? IPAddress.Loopback
        : throw new ArgumentException($"--dashboard-host: '{text}' is not an IP address");

    /// <summary>Turns the expected failures (bad spec, bad manifest, bad flags) into one clear line and exit code 2.</summary>
    internal static async Task<int> Guard(string role, Func<Task<int>> run)
    {
        try
        {
            return await run();
        }
        catch (RunSpecException e)
        {
            await Console.Error.WriteLineAsync($"mmcluster {role}: the run spec has problems:\n{e.Message}");
            return 2;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or Shared.Manifest.ManifestException or FileNotFoundException or DirectoryNotFoundException)
        {
            await Console.Error.WriteLineAsync($"mmcluster {role}: {e.Message}");
            return 2;
        }
    }
}
