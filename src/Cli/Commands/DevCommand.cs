using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using MmCluster.Cli.Hosting;
using MmCluster.Cli.Watch;
using MmCluster.Shared.Grpc.Dashboard;
using MmCluster.Shared.Manifest;
using MmCluster.Shared.Runs;
using MmCluster.Shared.Spec;

namespace MmCluster.Cli.Commands;

/// <summary>
/// <c>mmcluster dev --spec FILE --workers W</c>: the local dev cluster. Starts the coordinator and W worker processes
/// on loopback (free ports, a fresh bearer token), shows progress from the dashboard, and leaves the run directory
/// (checkpoints, metrics.jsonl, summary.json, logs/). Ctrl-C stops every process it started.
/// </summary>
internal static class DevCommand
{
    public static Command Create()
    {
        var spec = new Option<string>("--spec") { Description = "Run spec (YAML or JSON)", Required = true };
        var workers = new Option<int?>("--workers") { Description = "Number of worker processes (default: the spec's world_size)" };
        var runDir = new Option<string?>("--run-dir") { Description = "Run directory (default: runs/<spec name>)" };
        var threads = new Option<int>("--threads") { Description = "Torch threads per worker", DefaultValueFactory = _ => 1 };
        var resume = new Option<bool>("--resume") { Description = "Resume from the run directory's latest committed checkpoint" };
        var live = new Option<bool?>("--live") { Description = "Live terminal view (default: when the output is a terminal)" };
        var command = new Command("dev", "Run a spec on a local multi-process cluster (coordinator + workers on loopback).")
        {
            spec, workers, runDir, threads, resume, live,
        };
        command.SetAction((result, ct) => RunCommands.Guard("dev", () => RunAsync(
            result.GetValue(spec)!, result.GetValue(workers), result.GetValue(runDir), result.GetValue(threads),
            result.GetValue(resume), result.GetValue(live) ?? !Console.IsOutputRedirected, ct)));
        return command;
    }

    private static async Task<int> RunAsync(string specPath, int? workers, string? runDir, int threads, bool resume, bool live, CancellationToken ct)
    {
        var spec = RunSpecLoader.Load(specPath);   // every problem at once, before any process starts
        var world = workers ?? spec.WorldSize;
        if (world < 1)
        {
            throw new ArgumentException($"--workers must be at least 1, got {world}");
        }
        var directory = Path.GetFullPath(runDir ?? Path.Combine("runs", spec.Name ?? Path.GetFileNameWithoutExtension(specPath)));
        if (!resume && Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
        {
            // A fresh run never mixes with an earlier one's checkpoints; nothing is deleted: the old run is kept aside.
            var aside = $"{directory}.{DateTime.Now:yyyyMMdd-HHmmss}";
            Directory.Move(directory, aside);
            Console.WriteLine($"mmcluster dev: the earlier run in {directory} was moved to {aside} (use --resume to continue it instead)");
        }
        Directory.CreateDirectory(directory);
        var akkaPort = FreePort.Next();
        var dashboardPort = FreePort.Next();
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
        var env = new Dictionary<string, string> { ["MMCLUSTER_TOKEN"] = token };
        var logs = Path.Combine(directory, "logs");
        // Children's lines are echoed (when no live view is drawn) without stack frames: those stay in logs/<child>.log.
        var outputs = new System.Collections.Concurrent.ConcurrentDictionary<string, ChildOutput>();
        Action<string, string>? echo = live ? null : (name, line) =>
        {
            var output = outputs.GetOrAdd(name, n => new ChildOutput(Path.Combine(logs, $"{n}.log")));
            if (output.Show(line) is { } shown)
            {
                Console.WriteLine($"[{name}] {shown}");
            }
        };
        Console.WriteLine($"mmcluster dev: {world} workers, run directory {directory} (logs in {logs})");

        var children = new List<ChildProcess>();
        try
        {
            var coordinatorArgs = new List<string>
            {
                "coordinator", "--spec", Path.GetFullPath(specPath), "--run-dir", directory, "--workers", world.ToString(CultureInfo.InvariantCulture),
                "--port", akkaPort.ToString(CultureInfo.InvariantCulture), "--dashboard-port", dashboardPort.ToString(CultureInfo.InvariantCulture),
                "--threads", threads.ToString(CultureInfo.InvariantCulture),
            };
            if (resume)
            {
                coordinatorArgs.Add("--resume");
            }
            var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var coordinator = ChildProcess.Start("coordinator", coordinatorArgs, env, Path.Combine(logs, "coordinator.log"), (name, line) =>
            {
                if (line.StartsWith("coordinator: akka.tcp://", StringComparison.Ordinal))
                {
                    listening.TrySetResult();
                }
                echo?.Invoke(name, line);
            });
            children.Add(coordinator);
            // Workers start once the seed node listens (the coordinator may first import the manifest).
            await Task.WhenAny(listening.Task, coordinator.WaitAsync(ct));
            if (coordinator.HasExited)
            {
                return Report(directory, coordinator);
            }
            var seed = $"akka.tcp://mmcluster@127.0.0.1:{akkaPort}";
            for (var i = 0; i < world; i++)
            {
                children.Add(ChildProcess.Start($"worker-{i}",
                    ["worker", "--coordinator", seed, "--worker-id", $"worker-{i}", "--threads", threads.ToString(CultureInfo.InvariantCulture)],
                    env, Path.Combine(logs, $"worker-{i}.log"), echo));
            }
            var dashboard = $"http://127.0.0.1:{dashboardPort}";
            Console.WriteLine($"mmcluster dev: dashboard {dashboard} (another terminal: MMCLUSTER_TOKEN={token} ./mmcluster watch --coordinator {dashboard})");

            using var watching = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var watch = WatchAsync(dashboard, token, live, watching.Token);
            await Task.WhenAny(coordinator.WaitAsync(ct), watch);
            await coordinator.WaitAsync(ct);
            await watching.CancelAsync();
            await SwallowCancellation(watch);
            await StopWorkersAsync(children.Skip(1), TimeSpan.FromSeconds(20));
            return Report(directory, coordinator);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Console.Error.WriteLine("mmcluster dev: stopping every process (Ctrl-C)...");
            await Task.WhenAll(children.Select(c => c.StopAsync(TimeSpan.FromSeconds(5))));
            return 130;
        }
        finally
        {
            foreach (var child in children)
            {
                await child.DisposeAsync();
            }
        }
    }

    private static async Task WatchAsync(string dashboard, string token, bool live, CancellationToken ct)
    {
        if (live)
        {
            await WatchCommand.RunAsync(dashboard, token, json: false, waitSeconds: 600, Console.Out, TextWriter.Null, ct);
            return;
        }
        var watcher = new DashboardWatcher(new Uri(dashboard), token, TimeSpan.FromSeconds(600), _ => { });
        var lastPrinted = DateTimeOffset.MinValue;
        await foreach (var snapshot in watcher.WatchAsync(ct))
        {
            var final = DashboardWatcher.IsFinal(snapshot.State);
            if (final || DateTimeOffset.UtcNow - lastPrinted >= TimeSpan.FromSeconds(5))
            {
                lastPrinted = DateTimeOffset.UtcNow;
                Console.WriteLine(ProgressLine(snapshot));
            }
        }
    }

    internal static string ProgressLine(Shared.Grpc.Dashboard.RunSnapshot s)
    {
        var stage = s.Stages.FirstOrDefault(x => x.Name == s.Stage);
        var total = stage?.TotalSteps ?? 0;
        var eval = s.LastEval is { } e && e.Metrics.Count > 0
            ? " | eval " + string.Join(" ", e.Metrics.Where(kv => !kv.Key.EndsWith("images", StringComparison.Ordinal)).Select(kv => $"{kv.Key}={kv.Value:0.###}"))
            : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"[progress] {s.State} {s.Stage} step {s.Step}/{total} epoch {s.Epoch} loss {s.Loss:0.####} lr {s.Lr:0.#####} {s.SamplesPerS:0} samples/s collectives {s.CollectiveFraction:P0} wall {s.WallS:0}s{eval}");
    }

    private static async Task StopWorkersAsync(IEnumerable<ChildProcess> workers, TimeSpan grace)
    {
        using var timeout = new CancellationTokenSource(grace);
        foreach (var worker in workers)
        {
            try
            {
                await worker.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                await worker.StopAsync(TimeSpan.FromSeconds(5));
            }
        }
    }

    private static int Report(string directory, ChildProcess coordinator)
    {
        var summaryPath = Path.Combine(directory, "summary.json");
        if (!File.Exists(summaryPath))
        {
            Console.Error.WriteLine($"mmcluster dev: the coordinator exited with {coordinator.ExitCode} and wrote no summary:");
            foreach (var line in coordinator.Tail.Where(l => !ChildOutput.IsStackFrame(l)))
            {
                Console.Error.WriteLine($"  {line}");
            }
            return coordinator.ExitCode == 0 ? 1 : coordinator.ExitCode;
        }
        var summary = RunSummary.Read(summaryPath);
        Console.WriteLine($"mmcluster dev: run {summary.Status} in {summary.WallS:0} s; summary {summaryPath}");
        foreach (var stage in summary.Stages)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  stage {stage.Name}: {stage.State}, {stage.Steps} steps, {stage.SamplesSeen} samples, final loss {stage.FinalLoss:0.####}"));
        }
        foreach (var (name, value) in summary.Eval)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  eval {name} = {value:0.####} (stage {summary.EvalStage})"));
        }
        foreach (var epoch in summary.Ledger)
        {
            Console.WriteLine(epoch.Ran
                ? $"  ledger {epoch.Stage} epoch {epoch.Epoch}: expected {epoch.SamplesExpected}, committed {epoch.SamplesCommitted}, " +
                  $"skipped {epoch.Skipped} ({SkipCounts.Describe(epoch.SkippedByReason)}), duplicates {epoch.Duplicates}, missing {epoch.Missing}"
                : $"  ledger {epoch.Stage} epoch {epoch.Epoch}: not run (read ahead into at most; {epoch.SamplesExpected} rows planned)");
            foreach (var file in epoch.SkippedByFile)
            {
                Console.WriteLine($"    {file.File}: skipped {SkipCounts.Describe(file.SkippedByReason)} of {file.SamplesExpected} rows");
            }
        }
        if (summary.Error is { } error)
        {
            Console.Error.WriteLine($"mmcluster dev: {error}");
        }
        return coordinator.ExitCode;
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
