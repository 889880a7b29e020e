using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using MmCluster.Cli.Hosting;
using MmCluster.Coordinator.Web;
using MmCluster.Cli.Watch;
using MmCluster.Cli.Chaos;
using MmCluster.Shared.Manifest;
using MmCluster.Shared.Runs;
using MmCluster.Shared.Spec;
using MmCluster.Worker.Runtime;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>mmcluster dev --spec FILE --workers W</c>: the local dev cluster. Starts the coordinator and W worker processes
/// on loopback (free ports, a fresh bearer token), shows progress from the dashboard, and leaves the run directory
/// (checkpoints, metrics.jsonl, summary.json, logs/). Ctrl-C stops every process it started.
/// </summary>
internal static class DevCommand
{
    private static readonly TimeSpan RestartDelay = TimeSpan.FromSeconds(1);

    public static Command Create()
    {
        var spec = new Option<string>("--spec") { Description = "Run spec (YAML or JSON)", Required = true };
        var workers = new Option<int?>("--workers") { Description = "Number of worker processes (default: the spec's world_size)" };
        var runDir = new Option<string?>("--run-dir") { Description = "Run directory (default: runs/<spec name>)" };
        var threads = new Option<int>("--threads") { Description = "Torch threads per worker", DefaultValueFactory = _ => 1 };
        var resume = new Option<bool>("--resume") { Description = "Resume from the run directory's latest committed checkpoint" };
        var live = new Option<bool?>("--live") { Description = "Live terminal view (default: when the output is a terminal)" };
        var chaos = new Option<string?>("--chaos")
        {
            Description = "Faults to inject, e.g. \"kill worker-1 at step 120; stop worker-0 for 30s at step 200; kill coordinator after 90s\" " +
                "or \"random:mtbf=60s,seed=7[,targets=workers+coordinator]\" (docs/chaos.md); each is logged in <run>/chaos.jsonl",
        };
        var maxWorkerRestarts = new Option<int>("--max-worker-restarts")
        {
            Description = "Restart a worker process that died mid-run at most this many times (0: never)", DefaultValueFactory = _ => 10,
        };
        var maxCoordinatorRestarts = new Option<int>("--max-coordinator-restarts")
        {
            Description = "Restart the coordinator process that died mid-run at most this many times (0: never)", DefaultValueFactory = _ => 3,
        };
        var command = new Command("dev", "Run a spec on a local multi-process cluster (coordinator + workers on loopback).")
        {
            spec, workers, runDir, threads, resume, live, chaos, maxWorkerRestarts, maxCoordinatorRestarts,
        };
        command.SetAction((result, ct) => RunCommands.Guard("dev", () => RunAsync(
            new DevOptions(result.GetValue(spec)!, result.GetValue(workers), result.GetValue(runDir), result.GetValue(threads),
                result.GetValue(resume), result.GetValue(live) ?? !Console.IsOutputRedirected)
            {
                Chaos = result.GetValue(chaos) is { } plan ? ChaosPlan.Parse(plan) : ChaosPlan.None,
                MaxWorkerRestarts = result.GetValue(maxWorkerRestarts),
                MaxCoordinatorRestarts = result.GetValue(maxCoordinatorRestarts),
            }, ct)));
        return command;
    }

    private static async Task<int> RunAsync(DevOptions o, CancellationToken ct)
    {
        var spec = RunSpecLoader.Load(o.SpecPath);   // every problem at once, before any process starts
        var world = o.Workers ?? spec.WorldSize;
        if (world < 1)
        {
            throw new ArgumentException($"--workers must be at least 1, got {world}");
        }
        if (o.MaxWorkerRestarts < 0 || o.MaxCoordinatorRestarts < 0)
        {
            throw new ArgumentException("--max-worker-restarts and --max-coordinator-restarts must be 0 or more");
        }
        o.Chaos.CheckTargets(world);
        var directory = Path.GetFullPath(o.RunDirectory ?? Path.Combine("runs", spec.Name ?? Path.GetFileNameWithoutExtension(o.SpecPath)));
        if (!o.Resume && Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
        {
            // A fresh run never mixes with an earlier one's checkpoints; nothing is deleted: the old run is kept aside.
            var aside = $"{directory}.{DateTime.Now:yyyyMMdd-HHmmss}";
            Directory.Move(directory, aside);
            Console.WriteLine($"mmcluster dev: the earlier run in {directory} was moved to {aside} (use --resume to continue it instead)");
        }
        Directory.CreateDirectory(directory);
        var akkaPort = FreePort.Next();
        var dashboardPort = FreePort.Next();
        var webPort = FreePort.Next();
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
        var env = new Dictionary<string, string> { ["MMCLUSTER_TOKEN"] = token };
        var workerEnv = new Dictionary<string, string>(env);
        GcBudget.AddTo(workerEnv);
        var logs = Path.Combine(directory, "logs");
        // Children's lines are echoed (when no live view is drawn) without stack frames: those stay in logs/<child>.log.
        var outputs = new System.Collections.Concurrent.ConcurrentDictionary<string, ChildOutput>();
        Action<string, string>? echo = o.Live ? null : (name, line) =>
        {
            var output = outputs.GetOrAdd(name, n => new ChildOutput(Path.Combine(logs, $"{n}.log")));
            if (output.Show(line) is { } shown)
            {
                Console.WriteLine($"[{name}] {shown}");
            }
        };
        // The dev command's own lines (restarts, chaos) go to stderr under the live view, which owns stdout.
        var console = o.Live ? Console.Error : Console.Out;
        void Say(string line) => console.WriteLine($"mmcluster dev: {line}");
        Console.WriteLine($"mmcluster dev: {world} workers, run directory {directory} (logs in {logs})");

        var tracker = new RunTracker();
        var coordinatorArgs = new List<string>
        {
            "coordinator", "--spec", Path.GetFullPath(o.SpecPath), "--run-dir", directory, "--workers", world.ToString(CultureInfo.InvariantCulture),
            "--port", akkaPort.ToString(CultureInfo.InvariantCulture), "--dashboard-port", dashboardPort.ToString(CultureInfo.InvariantCulture),
            "--web-port", webPort.ToString(CultureInfo.InvariantCulture),
            "--threads", o.Threads.ToString(CultureInfo.InvariantCulture),
        };
        if (o.Resume)
        {
            coordinatorArgs.Add(CoordinatorRestart.ResumeFlag);
        }
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var startedAt = DateTime.UtcNow;
        ChildProcess StartCoordinator(int restart)
        {
            var args = coordinatorArgs;
            if (restart > 0)
            {
                (var again, var plan) = CoordinatorRestart.Arguments(coordinatorArgs, directory);
                args = [.. again];
                Say($"coordinator: {plan}");
            }
            startedAt = DateTime.UtcNow;
            return ChildProcess.Start("coordinator", args, env, Path.Combine(logs, "coordinator.log"), (name, line) =>
            {
                if (line.StartsWith("coordinator: akka.tcp://", StringComparison.Ordinal))
                {
                    listening.TrySetResult();
                }
                echo?.Invoke(name, line);
            });
        }
        // A coordinator that never listened failed on its own (bad spec, bad manifest): that is the run's outcome, not a crash.
        // One that wrote summary.json since it started ended the run; one that dies before that is started again.
        bool CoordinatorMayRestart() =>
            !ct.IsCancellationRequested && !tracker.IsOver && listening.Task.IsCompleted && !SummaryWrittenSince(directory, startedAt);
        await using var coordinator = SupervisedProcess.Start("coordinator", StartCoordinator,
            new SupervisionOptions(o.MaxCoordinatorRestarts, RestartDelay) { MaxRestartsOption = "--max-coordinator-restarts" }, CoordinatorMayRestart, Say);
        var workers = new List<SupervisedProcess>();
        ChaosMonkey? monkey = null;
        try
        {
            // Workers start once the seed node listens (the coordinator may first import the manifest).
            await Task.WhenAny(listening.Task, coordinator.Exited.WaitAsync(ct));
            if (!listening.Task.IsCompleted)
            {
                return DevReport.Report(directory, await coordinator.Exited);
            }
            var seed = $"akka.tcp://mmcluster@127.0.0.1:{akkaPort}";
            var ports = Enumerable.Range(0, world).Select(_ => FreePort.Next()).ToArray();
            ChildProcess StartWorker(int i, int restart)
            {
                if (restart > 0 && !FreePort.IsFree(ports[i]))
                {
                    var taken = ports[i];
                    ports[i] = FreePort.Next();
                    Say($"worker-{i}: collective port {taken} is still taken; using {ports[i]}");
                }
                return ChildProcess.Start($"worker-{i}",
                    ["worker", "--coordinator", seed, "--worker-id", $"worker-{i}", "--threads", o.Threads.ToString(CultureInfo.InvariantCulture),
                        "--grpc-port", ports[i].ToString(CultureInfo.InvariantCulture)],
                    workerEnv, Path.Combine(logs, $"worker-{i}.log"), echo);
            }
            bool WorkerMayRestart() => !ct.IsCancellationRequested && !tracker.IsOver && !coordinator.Exited.IsCompleted;
            for (var i = 0; i < world; i++)
            {
                var index = i;
                workers.Add(SupervisedProcess.Start($"worker-{i}", restart => StartWorker(index, restart),
                    new SupervisionOptions(o.MaxWorkerRestarts, RestartDelay), WorkerMayRestart, Say));
            }
            var dashboard = $"http://127.0.0.1:{dashboardPort}";
            Console.WriteLine($"mmcluster dev: dashboard {dashboard} (another terminal: MMCLUSTER_TOKEN={token} ./mmcluster watch --coordinator {dashboard})");
            Console.WriteLine($"mmcluster dev: web dashboard {WebDashboardServer.PageUrl(new Uri($"http://127.0.0.1:{webPort}/"), token)}");

            using var watching = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var follow = FollowAsync(dashboard, token, o.Live, tracker, watching.Token);
            var chaos = Task.CompletedTask;
            if (!o.Chaos.IsEmpty)
            {
                var journal = new ChaosJournal(Path.Combine(directory, "chaos.jsonl"));
                monkey = new ChaosMonkey(new ChaosScheduler(o.Chaos, world),
                    target => target == ChaosAction.Coordinator ? coordinator.Current : workers[int.Parse(target["worker-".Length..], CultureInfo.InvariantCulture)].Current,
                    journal, Say,
                    (target, down) => (target == ChaosAction.Coordinator ? coordinator : workers[int.Parse(target["worker-".Length..], CultureInfo.InvariantCulture)]).HoldRestart(down));
                Say($"chaos: {Describe(o.Chaos)}; every action is appended to {journal.Path}");
                chaos = monkey.RunAsync(() => tracker.Latest, watching.Token);
            }
            var last = await coordinator.Exited.WaitAsync(ct);
            tracker.MarkOver();
            await watching.CancelAsync();
            await chaos;
            if (monkey is not null)
            {
                await monkey.DisposeAsync();   // SIGCONT to a frozen worker, so it can leave the cluster
            }
            await SwallowCancellation(follow);
            await StopWorkersAsync(workers, TimeSpan.FromSeconds(20));
            return DevReport.Report(directory, last);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Console.Error.WriteLine("mmcluster dev: stopping every process (Ctrl-C)...");
            tracker.MarkOver();
            if (monkey is not null)
            {
                await monkey.DisposeAsync();   // SIGCONT first: a frozen process cannot leave the cluster
            }
            await Task.WhenAll(workers.Append(coordinator).Select(c => c.StopAsync(TimeSpan.FromSeconds(5))));
            return 130;
        }
        finally
        {
            if (monkey is not null)
            {
                await monkey.DisposeAsync();
            }
            foreach (var worker in workers)
            {
                await worker.DisposeAsync();
            }
        }
    }

    private static bool SummaryWrittenSince(string directory, DateTime startedAt)
    {
        var summary = Path.Combine(directory, "summary.json");
        return File.Exists(summary) && File.GetLastWriteTimeUtc(summary) >= startedAt;
    }

    private static string Describe(ChaosPlan plan) => string.Join("; ", plan.Actions.Select(a => a.Describe()).Concat(plan.Random is { } r
        ? [string.Create(CultureInfo.InvariantCulture, $"random kills every {r.Mtbf.TotalSeconds:0.#} s on average (seed {r.Seed}) of the {(r.Workers ? r.Coordinator ? "workers and the coordinator" : "workers" : "coordinator")}")]
        : []));

    /// <summary>
    /// Follows the dashboard for the supervisors and the chaos plan (<paramref name="tracker"/>), printing a progress line
    /// every 5 s; with <paramref name="live"/>, the live view draws the progress from a stream of its own.
    /// </summary>
    private static async Task FollowAsync(string dashboard, string token, bool live, RunTracker tracker, CancellationToken ct)
    {
        var view = live ? WatchCommand.RunAsync(dashboard, token, json: false, waitSeconds: 600, Console.Out, TextWriter.Null, ct) : Task.FromResult(0);
        var watcher = new DashboardWatcher(new Uri(dashboard), token, TimeSpan.FromSeconds(600), _ => { });
        var lastPrinted = DateTimeOffset.MinValue;
        await foreach (var snapshot in watcher.WatchAsync(ct))
        {
            tracker.Observe(snapshot);
            if (!live && (DashboardWatcher.IsFinal(snapshot.State) || DateTimeOffset.UtcNow - lastPrinted >= TimeSpan.FromSeconds(5)))
            {
                lastPrinted = DateTimeOffset.UtcNow;
                Console.WriteLine(DevReport.ProgressLine(snapshot));
            }
        }
        await view;
    }

    private static async Task StopWorkersAsync(IEnumerable<SupervisedProcess> workers, TimeSpan grace)
    {
        using var timeout = new CancellationTokenSource(grace);
        foreach (var worker in workers)
        {
            try
            {
                await worker.Exited.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                await worker.StopAsync(TimeSpan.FromSeconds(5));
            }
        }
    }

    private static async Task SwallowCancellation(Task task)
    {
        try
        {
            await task;
        }
        catch (OperationCanceledException)
        {
        }
        catch (Grpc.Core.RpcException)
        {
        }
    }
}
