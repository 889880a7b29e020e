using MmCluster.Coordinator.Progress;
using MmCluster.Coordinator.Web;
using MmCluster.Shared.Runs;
using MmCluster.Shared.Spec;

namespace MmCluster.Dashboard.Tests.Browser;

/// <summary>
/// The coordinator's own web host, <see cref="WebDashboardServer"/>, on a free loopback port over a real
/// <see cref="RunProgressHub"/>, with a token and a run directory in a temp folder (a checkpoint and its ledger sidecar
/// under checkpoints/, two logs under logs/). The hub is driven as the RunActor drives it: history points recorded, then
/// a snapshot published. The run: BLIP-2 stage 1 of a four-stage schedule at step 300, two training workers (the
/// straggler picked by <see cref="StragglerRule"/>, as the status mapping does), the ledger, and one recovery at step 150.
/// </summary>
internal sealed class RealRun : IAsyncDisposable
{
    public const string Token = "r3al-token";
    public const string RunName = "real-host-blip2";
    public const string Stage = "blip2-stage1";
    public const long RecoveryStep = 150;
    public const string RecoveryCause = "worker worker-1 (rank 1, 127.0.0.1:42002) became unreachable mid-run";
    public const string CheckpointPath = "checkpoints/blip2-stage1/step-100.safetensors";
    public const string LogPath = "logs/coordinator.log";

    private static readonly DateTimeOffset Start = new(2026, 12, 6, 20, 0, 0, TimeSpan.Zero);
    private static readonly (string Id, double StepMs, double CollectiveMs)[] Timings = [("worker-0", 240, 90), ("worker-1", 310, 20)];

    private readonly RunProgressHub _hub;
    private readonly WebDashboardServer _server;

    private RealRun(string directory, RunProgressHub hub, WebDashboardServer server)
    {
        Directory = directory;
        _hub = hub;
        _server = server;
    }

    /// <summary>The temp run directory the server lists files from.</summary>
    public string Directory { get; }

    public Uri Address => _server.Address;

    /// <summary>The link <c>mmcluster dev</c> prints: the address with <c>?token=</c>.</summary>
    public Uri PageUrl => new(WebDashboardServer.PageUrl(_server.Address, Token));

    /// <summary>The worker the straggler rule names (the one that waits least in collectives).</summary>
    public static string StragglerId => Timings[StragglerRule.Find(Timings.Select(t => (t.StepMs, t.CollectiveMs)).ToList())].Id;

    public static async Task<RealRun> StartAsync()
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("mmcluster-dashboard-").FullName;
        WriteFile(directory, CheckpointPath, Enumerable.Range(0, 4096).Select(i => (byte)(i * 31 % 251)).ToArray());
        WriteFile(directory, "checkpoints/blip2-stage1/step-100.ledger.pb", [0x0a, 0x03, 0x61, 0x62, 0x63]);
        WriteFile(directory, LogPath, "2026-12-06T20:00:00Z coordinator started\n2026-12-06T20:12:30Z recovery: worker-1 unreachable\n"u8.ToArray());
        WriteFile(directory, "logs/worker-0.log", "worker-0 joined generation 4\n"u8.ToArray());

        var hub = new RunProgressHub(new RunSnapshot { RunId = "run-real", RunName = RunName });
        try
        {
            Advance(hub, 1, 300);
            var server = await WebDashboardServer.StartAsync(new WebDashboardOptions { Port = 0, Token = Token, RunDirectory = directory }, hub);
            return new RealRun(directory, hub, server);
        }
        catch
        {
            System.IO.Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    /// <summary>What the RunActor does as steps complete: records the new points, then publishes the snapshot at <paramref name="step"/>.</summary>
    public void AdvanceTo(long step) => Advance(_hub, _hub.Current.Step + 1, step);

    public byte[] Bytes(string path) => File.ReadAllBytes(Path.Combine(Directory, path));

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private static void Advance(RunProgressHub hub, long from, long to)
    {
        for (var step = from; step <= to; step++)
        {
            hub.Record(Point(step));
            if (step % 100 == 0)
            {
                hub.Record(new HistoryPoint
                {
                    Stage = Stage,
                    Step = step,
                    WallSeconds = 600 + step,
                    Eval = new Dictionary<string, double> { ["itm_acc"] = 0.5 + step / 2000.0, ["i2t_r1"] = 0.2 + step / 3000.0 },
                });
            }
        }
        hub.Publish(Snapshot(to));
    }

    private static HistoryPoint Point(long step) => new()
    {
        Time = Start.AddSeconds(600 + step),
        WallSeconds = 600 + step,
        Stage = Stage,
        Step = step,
        Epoch = 1,
        Losses = FakeRun.Losses(step),
        Lr = 3e-4 * 0.5 * (1 + Math.Cos(Math.PI * step / 1000)),
        SamplesPerSecond = 270 + step % 7,
        StepMs = Timings.Average(t => t.StepMs),
        CollectiveMs = Timings.Average(t => t.CollectiveMs),
        Generation = step < RecoveryStep ? 3 : 4,
        WorldSize = Timings.Length,
        Recovery = step == RecoveryStep ? Recovery() : null,
        Workers = Timings.Select((t, rank) => new WorkerHistoryPoint
        {
            WorkerId = t.Id,
            Rank = rank,
            Step = step,
            StepMs = t.StepMs,
            ForwardBackwardMs = 130 + step % 3,
            GradAverageMs = t.CollectiveMs - 5,
            OptimizerMs = 12,
            CollectiveMs = t.CollectiveMs,
            SamplesPerSecond = 32_000 / t.StepMs,
        }).ToList(),
    };

    private static RunSnapshot Snapshot(long step)
    {
        var straggler = StragglerRule.Find(Timings.Select(t => (t.StepMs, t.CollectiveMs)).ToList());
        return new RunSnapshot
        {
            RunId = "run-real",
            RunName = RunName,
            State = RunState.Running,
            Stage = Stage,
            Stages =
            [
                new StageProgress { Name = "clip", Kind = StageKind.Clip, State = StageState.Done, Step = 200, TotalSteps = 200 },
                new StageProgress { Name = "lm", Kind = StageKind.Lm, State = StageState.Done, Step = 100, TotalSteps = 100 },
                new StageProgress
                {
                    Name = Stage, Kind = StageKind.Blip2Stage1, State = StageState.Running, DependsOn = ["clip"], Step = step, TotalSteps = 1000,
                    Epoch = 1, Losses = FakeRun.Losses(step), WallSeconds = step,
                },
                new StageProgress { Name = "blip2-stage2", Kind = StageKind.Blip2Stage2, DependsOn = [Stage, "lm"], TotalSteps = 500 },
            ],
            Epoch = 1,
            Step = step,
            SamplesPerSecond = 270,
            Loss = FakeRun.Losses(step)["loss"],
            Lr = 3e-4,
            WorldSize = Timings.Length,
            Generation = 4,
            Recoveries = [Recovery()],
            Workers = Timings.Select((t, rank) => new WorkerProgress
            {
                WorkerId = t.Id,
                Rank = rank,
                Address = $"127.0.0.1:{42001 + rank}",
                State = WorkerState.Training,
                Step = step,
                StepTimeMs = t.StepMs,
                CollectiveTimeMs = t.CollectiveMs,
                SamplesPerSecond = 32_000 / t.StepMs,
                LastHeartbeat = Start.AddSeconds(599 + step),
                ForwardBackwardMs = 130,
                GradAverageMs = t.CollectiveMs - 5,
                OptimizerMs = 12,
                Straggler = rank == straggler,
                Host = $"node-{rank}",
                LastReportAgeSeconds = 0.5,
                Lanes = ["Forward/0: shm"],
                Device = rank == 0 ? "cuda:0" : "cpu",
                // rank 1 reports no resident set size (a worker without /proc), only its managed heap
                ResidentBytes = rank == 0 ? 3L << 30 : null,
                PeakResidentBytes = rank == 0 ? (5L << 30) + (512L << 20) : null,
                ManagedHeapBytes = 96L << 20,
            }).ToList(),
            CollectiveFraction = Timings.Average(t => t.CollectiveMs / t.StepMs),
            Ledger =
            [
                new LedgerCounters(Stage, 0, 60_000, 60_000, 0, 0),
                new LedgerCounters(Stage, 1, 60_000, 21_000, 0, 0),
            ],
            StartedAt = Start,
            UpdatedAt = Start.AddSeconds(600 + step),
            WallSeconds = 600 + step,
        };
    }

    private static RecoverySummary Recovery() => new()
    {
        Stage = Stage,
        Step = RecoveryStep,
        Cause = RecoveryCause,
        GenerationBefore = 3,
        GenerationAfter = 4,
        WorldSizeBefore = 2,
        WorldSizeAfter = 2,
        LostSteps = 2,
        NoticedAt = Start.AddSeconds(750),
        AbortMs = 120,
        ReformMs = 2100,
        TransferMs = 640,
        FirstStepMs = 1900,
    };

    private static void WriteFile(string directory, string path, byte[] bytes)
    {
        var full = Path.Combine(directory, path);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, bytes);
    }
}
