using System.CommandLine;
using Microsoft.Extensions.Logging;
using MmCluster.Cli.Hosting;
using MmCluster.Collectives.Ring;
using MmCluster.Coordinator.Hosting;
using MmCluster.Shared.Hosting;
using MmCluster.Worker.Actors;
using MmCluster.Worker.Hosting;
using MmCluster.Worker.Runtime;

namespace MmCluster.Cli.Commands;

/// <summary>
/// The run commands: <c>dev</c> (a local multi-process cluster), and the two process roles it starts, which
/// Kubernetes starts too: <c>coordinator</c> and <c>worker</c>. Every flag also reads an environment variable
/// (<c>MMCLUSTER_*</c>), which is how the k8s manifests configure them.
/// </summary>
internal static class RunCommands
{
    /// <summary>Set by Kubernetes in every pod of an Indexed Job: the pod's index, 0..completions-1.</summary>
    internal const string JobCompletionIndex = "JOB_COMPLETION_INDEX";

    public static IEnumerable<Command> Create()
    {
        yield return DevCommand.Create();
        yield return CoordinatorCommand.Create();
        yield return Worker();
    }

    /// <summary>
    /// The worker's device (<see cref="DeviceChoice"/>): the CPU, or a CUDA device that this build's libtorch sees. Every
    /// stage kind trains on it (batches and collective payloads staged through page-locked host buffers on CUDA).
    /// </summary>
    internal static string WorkerDevice(string requested) => DeviceChoice.Resolve(requested);

    /// <summary>
    /// The worker's stage router: every kind this CLI trains, each on <paramref name="device"/>.
    /// </summary>
    internal static StageSessionRouter Sessions(CollectiveServer server, string device, Action<string> log, Action<Exception> fail) =>
        StageSessionRouter.WithBuiltInKinds(server, log, fail, device)
            .Register("lm", (s, l, f) => new LmTrainingSession(s, l, f, device), anyDevice: true)
            .Register("blip2-stage1", (s, l, f) => new Blip2Stage1TrainingSession(s, l, f, device), anyDevice: true)
            .Register("blip2-stage2", (s, l, f) => new Blip2Stage2TrainingSession(s, l, f, device), anyDevice: true)
            .Register("llava-align", (s, l, f) => new LlavaTrainingSession(s, l, f, instruct: false, device), anyDevice: true)
            .Register("llava-instruct", (s, l, f) => new LlavaTrainingSession(s, l, f, instruct: true, device), anyDevice: true)
            .Register("plora", (s, l, f) => new PloraTrainingSession(s, l, f, device), anyDevice: true)
            .Register("instructblip", (s, l, f) => new InstructBlipTrainingSession(s, l, f, device), anyDevice: true);

    private static Command Worker()
    {
        var coordinator = EnvOption.Create<string?>("--coordinator", "MMCLUSTER_COORDINATOR", "The coordinator's cluster address, e.g. akka.tcp://mmcluster@127.0.0.1:4053", null);
        var host = EnvOption.Create("--host", "MMCLUSTER_HOST", "Address to bind the cluster port and the collectives to", "127.0.0.1");
        var publicHost = EnvOption.Create<string?>("--public-host", "MMCLUSTER_PUBLIC_HOST", "Address other members reach this one at", null);
        var port = EnvOption.Create("--port", "MMCLUSTER_PORT", "Akka cluster port (0: any free port)", 0);
        var grpcPort = EnvOption.Create("--grpc-port", "MMCLUSTER_GRPC_PORT", "Collectives gRPC port (0: any free port)", 0);
        var id = EnvOption.Create<string?>("--worker-id", "MMCLUSTER_WORKER_ID", "Worker id (default: worker-$JOB_COMPLETION_INDEX in an Indexed Job, else host name and pid)", null);
        var threads = EnvOption.Create("--threads", "MMCLUSTER_THREADS", "Torch threads", 1);
        var device = EnvOption.Create("--device", "MMCLUSTER_DEVICE", "auto, cpu, cuda or cuda:N (auto: the first CUDA device if libtorch has one, else the CPU)", "cpu");
        var token = EnvOption.Create<string?>("--token", "MMCLUSTER_TOKEN", "Bearer token shared by the workers' collectives", null);
        var joinTimeout = EnvOption.Create("--join-timeout", "MMCLUSTER_JOIN_TIMEOUT", "Seconds to wait for the coordinator to be up in the cluster before giving up", 600);
        var jobUid = EnvOption.Create("--job-uid", "MMCLUSTER_JOB_UID",
            "The uid of the Kubernetes Job this worker's pod belongs to (its controller-uid label), recorded in the run's summary.json", "");
        var runDir = EnvOption.Create<string?>("--run-dir", "MMCLUSTER_RUN_DIR",
            "The run's directory on a volume shared with the coordinator: a worker that saw no coordinator within the join timeout ends as done " +
            "(exit 0) if the run's summary.json says it succeeded with a worker of this worker's Job (--job-uid; a late replacement)", null);
        var transport = EnvOption.Create("--collective-transport", "MMCLUSTER_COLLECTIVE_TRANSPORT",
            "How collective payloads travel: auto (shared memory with workers on the same host, a bulk TCP lane with the others), tcp (the TCP lane with every worker) " +
            "or grpc (always inline in the gRPC streams); a lane that cannot be set up stays inline", "auto");
        var client = CollectiveClientOption.Create();
        var command = new Command("worker", "Run one training worker: joins the coordinator's cluster and trains its rank.")
        {
            coordinator, host, publicHost, port, grpcPort, id, threads, device, token, joinTimeout, jobUid, runDir, transport, client,
        };
        command.SetAction(async (result, ct) => await Guard("worker", async () =>
        {
            var seed = result.GetValue(coordinator) ?? throw new ArgumentException("--coordinator (or MMCLUSTER_COORDINATOR) is required");
            var bindHost = result.GetValue(host)!;
            var advertised = result.GetValue(publicHost) ?? bindHost;
            var workerId = result.GetValue(id) ?? DefaultWorkerId(Environment.GetEnvironmentVariable(JobCompletionIndex));
            var secret = result.GetValue(token) ?? "";
            var computeDevice = WorkerDevice(result.GetValue(device)!);
            var transportName = result.GetValue(transport)!;
            var payloads = transportName switch
            {
                "auto" => CollectiveTransport.Auto,
                "grpc" => CollectiveTransport.Grpc,
                "tcp" => CollectiveTransport.Tcp,
                _ => throw new ArgumentException($"--collective-transport (or MMCLUSTER_COLLECTIVE_TRANSPORT) is '{transportName}'; use auto, tcp or grpc"),
            };
            // What the collective server refuses outside gRPC (a connection to its TCP lane listener without a valid hello).
            using var logging = LoggerFactory.Create(logs => logs.AddSimpleConsole(console => console.SingleLine = true));
            await using var server = await CollectiveServer.StartAsync(new CollectiveServerOptions
            {
                Logger = logging.CreateLogger($"worker {workerId}: collectives"),
                Host = bindHost,
                Port = result.GetValue(grpcPort),
                BearerToken = secret,
                Transport = payloads,
                ReferenceClient = CollectiveClientOption.IsReference(result.GetValue(client)!),
            }, ct);
            var collectiveAddress = $"http://{advertised}:{server.Port}";
            Console.WriteLine($"worker {workerId}: collectives at {collectiveAddress} (payloads: {transportName}), joining {seed}");
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            Exception? failure = null;
            StageSessionRouter? previous = null;
            StageSessionRouter NewSession()
            {
                // A rejoin (the coordinator was lost and restarted) starts a new session once the last one's trainer has
                // stopped and freed its model, so two never hold memory at once.
                if (previous is not null && !previous.WaitForTrainer(TimeSpan.FromSeconds(60)))
                {
                    Console.Error.WriteLine($"worker {workerId}: the previous session's trainer did not stop within 60 s; rejoining anyway");
                }
                return previous = Sessions(server, computeDevice,
                    message => Console.WriteLine($"worker {workerId}: {message}"),
                    e =>
                    {
                        failure = e;
                        Console.Error.WriteLine($"worker {workerId}: training failed: {e}");
                        stop.Cancel();
                    });
            }
            var options = new WorkerOptions
            {
                Akka = new AkkaSettings { Hostname = bindHost, PublicHostname = result.GetValue(publicHost), Port = result.GetValue(port), SeedNodes = [seed] },
                Agent = new WorkerAgentSettings(workerId, collectiveAddress, computeDevice, result.GetValue(threads))
                {
                    JoinTimeout = TimeSpan.FromSeconds(Math.Max(1, result.GetValue(joinTimeout))),
                    CoordinatorHint = seed,
                    JobUid = result.GetValue(jobUid)!,
                },
            };
            Console.WriteLine($"worker {workerId}: device {computeDevice}; {GcBudget.Describe(Environment.GetEnvironmentVariable(GcBudget.Variable))}");
            var ended = await WorkerHost.RunAsync(options, NewSession, stop.Token);
            if (failure is null && ended.NoCoordinator && result.GetValue(runDir) is { Length: > 0 } directory)
            {
                if (FinishedRunCheck.Finished(directory, options.Agent.JobUid, out var why) is { } finished)
                {
                    Console.WriteLine($"worker {workerId}: {finished}; ending as done");
                    return 0;
                }
                if (why is not null)
                {
                    Console.Error.WriteLine($"worker {workerId}: {why}");
                }
            }
            return failure is null ? ended.ExitCode : 1;
        }));
        return command;
    }

    /// <summary>Turns the expected failures (bad spec, bad manifest, bad flags) into one clear line and exit code 2.</summary>
    internal static Task<int> Guard(string role, Func<Task<int>> run) => CommandGuard.RunAsync(role, run);

    /// <summary>
    /// The worker's id: the flag or MMCLUSTER_WORKER_ID, else <c>worker-N</c> from Kubernetes' JOB_COMPLETION_INDEX (an
    /// Indexed Job's pod index, so ids and ranks follow the index), else host name and pid.
    /// </summary>
    internal static string DefaultWorkerId(string? completionIndex) =>
        int.TryParse(completionIndex, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index)
            ? $"worker-{index}"
            : $"{Environment.MachineName}-{Environment.ProcessId}";
}
