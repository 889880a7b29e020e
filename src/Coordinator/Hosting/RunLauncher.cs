using System.Net;
using Google.Protobuf;
using MmCluster.Coordinator.Actors;
using MmCluster.Coordinator.Progress;
using MmCluster.Coordinator.Services;
using MmCluster.Coordinator.Web;
using MmCluster.Shared.Grpc.Control;
using MmCluster.Shared.Grpc.Journal;
using MmCluster.Shared.Hosting;
using MmCluster.Shared.Manifest;
using MmCluster.Shared.Manifest.Import;
using MmCluster.Shared.Runs;
using MmCluster.Shared.Spec;

namespace MmCluster.Coordinator.Hosting;

/// <summary>
/// The coordinator process of one run: checks the run spec, makes sure the manifest exists (importing Fashion-MNIST
/// when the spec asks), plans shards from Parquet footers, builds the stage schedule (<see cref="StageSchedule"/>), serves
/// the dashboard, drives every stage through the actors over the same workers, and leaves <c>metrics.jsonl</c> and
/// <c>summary.json</c> in the run directory.
/// </summary>
public static class RunLauncher
{
    public static async Task<int> RunAsync(LaunchOptions launch, CancellationToken cancellationToken = default)
    {
        var log = launch.Log;
        var spec = RunSpecLoader.Load(launch.SpecPath);
        var world = launch.WorldSize ?? spec.WorldSize;
        Directory.CreateDirectory(launch.RunDirectory);
        var manifest = spec.ResolvePath(spec.Manifest!.Path!);
        if (spec.Manifest.AutoImport is RunSpecValidator.FashionMnistAutoImport or RunSpecValidator.FashionMnistInstructAutoImport)
        {
            var instructions = spec.Manifest.AutoImport == RunSpecValidator.FashionMnistInstructAutoImport;
            await FashionMnist.EnsureManifestAsync(manifest, log: log, instructions: instructions, cancellationToken: cancellationToken);
        }
        // Every file's footer is checked here, through the spec's column mapping, before any worker starts.
        var summary = await ParquetManifestReader.InspectAsync(manifest, spec.Manifest.ColumnMapping, cancellationToken);
        var trainSplit = spec.Manifest.TrainSplit;
        var shards = ShardPlanner.BuildShards(summary.Files, new ShardPlanOptions { Split = trainSplit });
        var trainRows = shards.Sum(s => s.RowCount);
        var journalPath = RunJournalHosting.DefaultDatabasePath(launch.RunDirectory);
        RunRecord? journal = null;
        var resuming = launch.Resume;
        if (launch.Resume)
        {
            journal = await RunJournalReader.ReadAsync(journalPath, cancellationToken);
        }
        else if (launch.ResumeUnfinished && await RunJournalReader.ReadAsync(journalPath, cancellationToken) is { Ended: null } unfinished)
        {
            (resuming, journal) = (true, unfinished);
            log.WriteLine($"the run directory's journal holds run {unfinished.RunId}, which has not ended: resuming it (--resume-unfinished)");
        }
        else
        {
            SetAsidePreviousJournal(journalPath, log);
        }
        // A resumed run keeps its run id: the journal's persistence id (and the generations in it) continue.
        var runId = journal?.RunId ?? $"{spec.Name ?? "run"}-{DateTimeOffset.UtcNow:yyyyMMdd-HHmmss}";
        var configs = StageSchedule.Build(spec, new StageScheduleInputs
        {
            RunId = runId,
            RunDirectory = launch.RunDirectory,
            ManifestPath = manifest,
            TrainRows = trainRows,
            WorldSize = world,
            Threads = launch.ThreadsPerWorker,
            ClassNames = launch.ClassNames,
        });
        var startAt = 0;
        var generation = 1L;
        LedgerSnapshot? resumeLedger = null;
        if (resuming)
        {
            var resume = await ResumePlanner.PlanAsync(configs, journal, cancellationToken);
            (startAt, configs, resumeLedger, generation) = (resume.StartAt, resume.Configs, resume.Ledger, resume.Generation);
            var from = configs[startAt].ResumeFrom is { } checkpoint ? $"from {checkpoint}" : "fresh";
            log.WriteLine($"resuming stage '{configs[startAt].Stage}' {from}, generation {generation}, after the {resume.Source}");
        }
        foreach (var config in configs)
        {
            var inputs = config.Init.Count == 0 ? "" : $", from {string.Join(" + ", config.Init.Select(i => i.From))}";
            var state = config.StageIndex < startAt ? " (done)" : "";
            log.WriteLine($"run {runId}: stage {config.StageIndex} '{config.Stage}' ({config.Kind}, {config.Preset}{inputs}), {world} workers x batch {config.BatchSize}, {config.StepsPerEpoch} steps/epoch, {config.TotalSteps} steps{state}");
        }
        log.WriteLine($"run {runId}: {shards.Count} shards of {trainRows} rows in {manifest}");

        var hub = new RunProgressHub(RunSnapshot.Initial(runId, spec, world) with { StartedAt = DateTimeOffset.UtcNow });
        PatchSchedule(hub, configs, startAt);
        await using var dashboard = await DashboardServer.StartAsync(
            new DashboardOptions { Address = launch.DashboardAddress, Port = launch.DashboardPort, Token = launch.Token }, hub, cancellationToken);
        log.WriteLine($"dashboard: {dashboard.Address} (mmcluster watch --coordinator {dashboard.Address})");
        launch.DashboardListening?.Invoke(dashboard.Address);
        await using var web = await WebDashboardServer.StartAsync(new WebDashboardOptions
        {
            Address = launch.DashboardAddress,
            Port = launch.WebPort,
            Token = launch.Token,
            RunDirectory = launch.RunDirectory,
        }, hub, cancellationToken);
        var tokenHint = string.IsNullOrEmpty(launch.Token) ? "" : " (add ?token=<the run's token>)";
        log.WriteLine($"web dashboard: {web.Address}{tokenHint}");
        using var metrics = new MetricsJsonlWriter(Path.Combine(launch.RunDirectory, "metrics.jsonl"));
        var stages = configs.Select(config => new ScheduledStage(config.Stage, () =>
        {
            var resolved = StageSchedule.ResolveInit(config);
            foreach (var init in resolved.Init)
            {
                log.WriteLine($"stage '{config.Stage}' starts from {init.Checkpoint}");
            }
            return resolved.ToJsonBytes();
        }, config.RowsPerRank) { Kind = config.Kind }).ToList();
        var options = new CoordinatorOptions
        {
            Akka = new AkkaSettings { Hostname = launch.Host, Port = launch.AkkaPort, PublicHostname = launch.PublicHost },
            Run = new RunSettings(runId, world, ReadOnlyMemory<byte>.Empty, generation)
            {
                RendezvousTimeout = launch.RendezvousTimeout,
                Stages = stages,
                StartAt = startAt,
                Recovery = RecoveryOf(spec, world),
            },
            PlanEpoch = epoch => ShardPlanner.PlanEpoch(shards, spec.Seed, epoch),
            // Every stage shuffles the manifest its own way (the first stage as a one-stage run always did).
            PlanStageEpoch = (stage, epoch) => ShardPlanner.PlanEpoch(shards, spec.Seed + stage, epoch),
            ResumeLedger = resumeLedger,
            JournalDatabase = journalPath,
            Listening = address =>
            {
                log.WriteLine($"coordinator: {address}, waiting for {world} workers");
                launch.AkkaListening?.Invoke(address);
            },
            RunActorStarted = (system, runActor) =>
                system.ActorOf(RunProgressFeedActor.Props(runActor, hub, configs[startAt].Stage, point =>
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
        (RunSummary.From(final) with { WorkerJobs = outcome.WorkerJobs }).Write(summaryPath);
        log.WriteLine(outcome.Succeeded ? $"run {runId} finished: {summaryPath}" : $"run {runId} failed: {outcome.Message}");
        return outcome.ExitCode;
    }

    /// <summary>
    /// A fresh run in a directory that has a journal starts a journal of its own: the old one is renamed
    /// (<c>coordinator.db.&lt;time&gt;.old</c>), so a later <c>--resume</c> finds this run's, and the old run stays readable.
    /// </summary>
    private static void SetAsidePreviousJournal(string journalPath, TextWriter log)
    {
        if (!RunJournalDatabase.Exists(journalPath))
        {
            return;
        }
        var aside = $"{journalPath}.{DateTimeOffset.UtcNow:yyyyMMdd-HHmmss}.old";
        File.Move(journalPath, aside);
        log.WriteLine($"a fresh run: the previous run's journal is now {aside}");
    }

    private static void PatchSchedule(RunProgressHub hub, IReadOnlyList<StageConfig> configs, int startAt)
    {
        var byName = configs.ToDictionary(c => c.Stage, StringComparer.Ordinal);
        hub.Publish(hub.Current with
        {
            Stages = hub.Current.Stages.Select(s => byName.TryGetValue(s.Name, out var c)
                ? s with { TotalSteps = c.TotalSteps, State = c.StageIndex < startAt ? StageState.Done : s.State }
                : s).ToList(),
        });
    }

    /// <summary>The spec's <c>recovery</c> section as the RunActor takes it (min_workers defaults to the world size).</summary>
    internal static RecoverySettings RecoveryOf(RunSpec spec, int world) => spec.Recovery is { Enabled: true } recovery
        ? new RecoverySettings(true, Math.Clamp(recovery.MinWorkers ?? world, 1, world), recovery.ReplacementWait, recovery.MaxRestarts,
            recovery.Window, AbortTimeout: recovery.CollectiveDeadline + TimeSpan.FromSeconds(5))
        {
            CoordinatorWait = recovery.CoordinatorWait,
        }
        : RecoverySettings.Disabled;
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

    /// <summary>The web dashboard's HTTP/1.1 port (bound to <see cref="DashboardAddress"/> too); 0 picks a free one.</summary>
    public int WebPort { get; init; } = WebDashboardOptions.DefaultPort;

    public string? Token { get; init; }

    public bool Resume { get; init; }

    /// <summary>
    /// Resume when the run directory's journal holds a run that has not ended (this coordinator was restarted mid-run, as a
    /// Kubernetes Job restarts its pod), start fresh otherwise (no journal, or its run ended: it is set aside).
    /// </summary>
    public bool ResumeUnfinished { get; init; }

    public int ThreadsPerWorker { get; init; } = 1;

    public IReadOnlyList<string>? ClassNames { get; init; }

    public TimeSpan? RendezvousTimeout { get; init; }

    public TextWriter Log { get; init; } = Console.Out;

    public Action<string>? AkkaListening { get; init; }

    public Action<Uri>? DashboardListening { get; init; }
}
