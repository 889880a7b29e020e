using System.Collections.Concurrent;
using MmCluster.Collectives.Ring;
using MmCluster.Shared.Runs;
using MmCluster.Shared.Grpc.Control;
using MmCluster.Worker.Actors;
using MmCluster.Worker.Runtime;
using Xunit;

namespace MmCluster.Worker.Tests.Runtime;

/// <summary>The worker's stage router: one trainer per stage, chosen by the stage's kind.</summary>
public sealed class StageSessionRouterSpecs : IAsyncLifetime
{
    private readonly ConcurrentQueue<Exception> failures = new();
    private readonly List<string> log = [];
    private CollectiveServer server = null!;

    public async Task InitializeAsync() => server = await CollectiveServer.StartAsync(new CollectiveServerOptions { BearerToken = "test-secret" });

    public async Task DisposeAsync() => await server.DisposeAsync();

    [Fact]
    public void Should_fail_the_worker_naming_the_stage_and_the_known_kinds_when_the_kind_is_unknown()
    {
        var router = StageSessionRouter.WithBuiltInKinds(server, log.Add, failures.Enqueue);

        router.OnGenerationStarted(Generation(1, "captioner", "blip3"), new NoControlPlane());

        var failure = Assert.Single(failures);
        Assert.IsType<NotSupportedException>(failure);
        Assert.Equal("stage 'captioner' has kind 'blip3', which this worker cannot train (kinds it knows: clip)", failure.Message);
    }

    [Fact]
    public void Should_start_a_new_session_of_the_registered_kind_for_every_stage()
    {
        var made = new List<RecordingSession>();
        var router = new StageSessionRouter(server, log.Add, failures.Enqueue)
            .Register("lm", (s, l, f) =>
            {
                Assert.Same(server, s);
                var session = new RecordingSession("lm");
                made.Add(session);
                return session;
            })
            .Register("blip2-stage1", (_, _, _) =>
            {
                var session = new RecordingSession("blip2-stage1");
                made.Add(session);
                return session;
            });

        router.OnGenerationStarted(Generation(1, "lm", "lm"), new NoControlPlane());
        router.OnGenerationStarted(Generation(2, "q", "blip2-stage1"), new NoControlPlane());
        router.OnRunEnded(new RunEnded(true, "done"));

        Assert.Empty(failures);
        Assert.Equal(["lm", "blip2-stage1"], made.Select(m => m.Kind));
        Assert.Equal([1L], made[0].Started.Select(g => g.Generation));
        Assert.Equal([2L], made[1].Started.Select(g => g.Generation));
        Assert.Empty(made[0].Ended);
        Assert.Single(made[1].Ended);
    }

    [Fact]
    public void Should_fail_the_worker_when_the_stage_config_is_not_json()
    {
        var router = StageSessionRouter.WithBuiltInKinds(server, log.Add, failures.Enqueue);

        router.OnGenerationStarted(new GenerationInfo("r", 3, 0, 1, [], "not json"u8.ToArray()), new NoControlPlane());

        Assert.Contains("run r generation 3: the stage config is not valid", Assert.Single(failures).Message);
    }

    private static GenerationInfo Generation(long generation, string stage, string kind) => new("r", generation, 0, 1, [],
        new StageConfig { RunId = "r", RunDirectory = "/tmp/r", Stage = stage, Kind = kind, Preset = "p", ManifestPath = "/m" }.ToJsonBytes());

    private sealed class RecordingSession(string kind) : ITrainingSession
    {
        public string Kind { get; } = kind;
        public List<GenerationInfo> Started { get; } = [];
        public List<RunEnded> Ended { get; } = [];

        public void OnGenerationStarted(GenerationInfo generation, IControlPlane control) => Started.Add(generation);

        public void OnGenerationAborted(long generation, string reason)
        {
        }

        public void OnRunEnded(RunEnded ended) => Ended.Add(ended);
    }

    private sealed class NoControlPlane : IControlPlane
    {
        public Task<ShardOffer> TryNextShardAsync(int epoch, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public void CompleteShard(ShardLease lease, long rowsConsumed, long step, IReadOnlyDictionary<string, long>? skippedByReason = null, long generation = 0) => throw new NotSupportedException();

        public void ReportProgress(ReportProgress report) => throw new NotSupportedException();

        public Task<CheckpointCommit> CommitCheckpointAsync(long step, string path, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public void ReportFinished(long step) => throw new NotSupportedException();
    }
}
