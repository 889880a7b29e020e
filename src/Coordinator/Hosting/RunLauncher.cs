using System.Net;
using Google.Protobuf;
using MmCluster.Coordinator.Actors;
using MmCluster.Coordinator.Progress;
using MmCluster.Coordinator.Services;
using MmCluster.Shared.Grpc.Control;
using MmCluster.Shared.Hosting;
using MmCluster.Shared.Manifest;
using MmCluster.Shared.Manifest.Import;
using MmCluster.Shared.Runs;
using MmCluster.Shared.Spec;

namespace MmCluster.Coordinator.Hosting;

/// <summary>
/// The coordinator process of one run: checks the run spec, makes sure the manifest exists (importing Fashion-MNIST
/// when the spec asks), plans shards from Parquet footers, serves the dashboard, drives the run through the actors, and
/// leaves <c>metrics.jsonl</c> and <c>summary.json</c> in the run directory.
/// </summary>
public static class RunLauncher
{
    public static async Task<int> RunAsync(LaunchOptions launch, CancellationToken cancellationToken = default)
    {
        var log = launch.Log;
        var spec = RunSpecLoader.Load(launch.SpecPath);
        var world = launch.WorldSize ?? spec.WorldSize;
        var stage = SingleStage(spec);
        Directory.CreateDirectory(launch.RunDirectory);
        var manifest = spec.ResolvePath(spec.Manifest!.Path!);
        if (spec.Manifest.AutoImport == "fashion-mnist")
        {
            await FashionMnist.EnsureManifestAsync(manifest, log: log, cancellationToken: cancellationToken);
        }
        var summary = await ParquetManifestReader.InspectAsync(manifest, cancellationToken);
        var trainSplit = spec.Manifest.TrainSplit;
        var shards = ShardPlanner.BuildShards(summary.Files, new ShardPlanOptions { Split = trainSplit });
        var trainRows = shards.Sum(s => s.RowCount);
        var batch = stage.BatchSize!.Value;
        var stepsPerEpoch = trainRows / ((long)world * batch);
        if (stepsPerEpoch == 0)
        {
            throw new InvalidOperationException(
                $"{launch.SpecPath}: stages[0].batch_size: {world} workers x {batch} = {world * batch} samples per step, but split '{trainSplit}' of {manifest} has only {trainRows} rows");
        }
        var totalSteps = stage.Steps ?? stage.Epochs!.Value * stepsPerEpoch;
        var checkpointDir = Path.Combine(launch.RunDirectory, "checkpoints", stage.Name!);
        string? resumeFrom = null;
        LedgerSnapshot? resumeLedger = null;
        if (launch.Resume)
        {
            resumeFrom = LedgerSidecar.LatestCommitted(checkpointDir)
                ?? throw new InvalidOperationException($"--resume: no committed checkpoint under {checkpointDir}");
            resumeLedger = LedgerSnapshot.Parser.ParseFrom(await File.ReadAllBytesAsync(LedgerSidecar.PathFor(resumeFrom), cancellationToken));
            log.WriteLine($"resuming from {resumeFrom} (ledger at step {resumeLedger.Step})");
        }
        var runId = $"{spec.Name ?? "run"}-{DateTimeOffset.UtcNow:yyyyMMdd-HHmmss}";
        var config = new StageConfig
        {
            RunId = runId,
            RunDirectory = Path.GetFullPath(launch.RunDirectory),
            Stage = stage.Name!,
            Kind = stage.Kind!.Value.ToName(),
            Preset = stage.Model!.Preset!,
            ManifestPath = manifest,
            TrainSplit = trainSplit,
            TestSplit = spec.Manifest.TestSplit,
            Seed = spec.Seed,
            BatchSize = batch,
            TotalSteps = totalSteps,
            StepsPerEpoch = stepsPerEpoch,
            LearningRate = stage.Optimizer.Lr,
            WeightDecay = stage.Optimizer.WeightDecay,
            Beta1 = stage.Optimizer.Beta1,
            Beta2 = stage.Optimizer.Beta2,
            WarmupSteps = stage.Schedule.WarmupSteps,
            GradClip = stage.GradClip ?? 1.0,
            EvalEvery = stage.Eval.EverySteps ?? 0,
            ZeroShotTemplates = stage.Eval.ZeroShotTemplates.Count > 0 ? stage.Eval.ZeroShotTemplates : CaptionTemplates.HeldOut,
            ClassNames = launch.ClassNames ?? ClassNames.FashionMnist,
            RetrievalHeldOut = stage.Eval.RetrievalHeldOut ?? 1000,
            CheckpointEvery = stage.CheckpointEvery ?? 0,
            ResumeFrom = resumeFrom,
            Threads = launch.ThreadsPerWorker,
        };
        log.WriteLine($"run {runId}: stage '{config.Stage}' ({config.Preset}), {world} workers x batch {batch}, {stepsPerEpoch} steps/epoch, {totalSteps} steps; {shards.Count} shards of {trainRows} rows in {manifest}");

        var hub = new RunProgressHub(Shared.Runs.RunSnapshot.Initial(runId, spec, world) with { StartedAt = DateTimeOffset.UtcNow });
        PatchTotalSteps(hub, config.Stage, totalSteps);
        await using var dashboard = await DashboardServer.StartAsync(
            new DashboardOptions { Address = launch.DashboardAddress, Port = launch.DashboardPort, Token = launch.Token }, hub, cancellationToken);
        log.WriteLine($"dashboard: {dashboard.Address} (mmcluster watch --coordinator {dashboard.Address})");
        launch.DashboardListening?.Invoke(dashboard.Address);
        using var metrics = new MetricsJsonlWriter(Path.Combine(launch.RunDirectory, "metrics.jsonl"));
        var options = new CoordinatorOptions
        {
            Akka = new AkkaSettings { Hostname = launch.Host, Port = launch.AkkaPort, PublicHostname = launch.PublicHost },
            Run = new RunSettings(runId, world, config.ToJsonBytes()) { RendezvousTimeout = launch.RendezvousTimeout },
            PlanEpoch = epoch => ShardPlanner.PlanEpoch(shards, spec.Seed, epoch),
            ResumeLedger = resumeLedger,
            Listening = address =>
            {
                log.WriteLine($"coordinator: {address}, waiting for {world} workers");
                launch.AkkaListening?.Invoke(address);
            },
            RunActorStarted = (system, runActor) =>
                system.ActorOf(RunProgressFeedActor.Props(runActor, hub, config.Stage, point =>
                {
                    lock (metrics)
                    {
                        metrics.Append(point);
                    }
                }), "progress-feed"),
        };
        var outcome = await CoordinatorHost.RunAsync(options, cancellationToken);
        var final = hub.Current with
        {
            State = outcome.Succeeded ? RunState.Succeeded : RunState.Failed,
            Error = outcome.Succeeded ? null : outcome.Message,
            WallSeconds = (DateTimeOffset.UtcNow - hub.Current.StartedAt).TotalSeconds,
        };
        var summaryPath = Path.Combine(launch.RunDirectory, "summary.json");
        RunSummary.From(final).Write(summaryPath);
        log.WriteLine(outcome.Succeeded ? $"run {runId} finished: {summaryPath}" : $"run {runId} failed: {outcome.Message}");
        return outcome.ExitCode;
    }

    private static StageSpec SingleStage(RunSpec spec)
    {
        if (spec.Stages.Count != 1 || spec.Stages[0].Kind != StageKind.Clip)
        {
            throw new InvalidOperationException(
                $"{spec.Source.FilePath}: this version runs one 'clip' stage per run; the spec has {string.Join(" -> ", spec.Stages.Select(s => $"{s.Name} ({s.Kind?.ToName()})"))}");
        }
        return spec.Stages[0];
    }

    private static void PatchTotalSteps(RunProgressHub hub, string stage, long totalSteps) =>
        hub.Publish(hub.Current with
        {
            Stages = hub.Current.Stages.Select(s => s.Name == stage ? s with { TotalSteps = totalSteps } : s).ToList(),
        });
}

/// <summary>How the coordinator process was started (flags and environment of <c>mmcluster coordinator</c>).</summary>
public sealed record LaunchOptions
{
    public required string SpecPath { get; init; }

    public required string RunDirectory { get; init; }

    public int? WorldSize { get; init; }

    public string Host { get; init; } = "127.0.0.1";

    public string? PublicHost { get; init; }

    public int AkkaPort { get; init; } = 4053;

    public IPAddress DashboardAddress { get; init; } = IPAddress.Loopback;

    public int DashboardPort { get; init; } = DashboardOptions.DefaultPort;

    public string? Token { get; init; }

    public bool Resume { get; init; }

    public int ThreadsPerWorker { get; init; } = 1;

    public IReadOnlyList<string>? ClassNames { get; init; }

    public TimeSpan? RendezvousTimeout { get; init; }

    public TextWriter Log { get; init; } = Console.Out;

    public Action<string>? AkkaListening { get; init; }

    public Action<Uri>? DashboardListening { get; init; }
}
