using MmCluster.Cli.Commands;
using MmCluster.Collectives.Ring;
using MmCluster.Shared.Runs;
using MmCluster.Worker.Actors;
using Xunit;

namespace MmCluster.Cli.Tests.Commands;

/// <summary>
/// The worker's <c>--device</c>: the CPU and a CUDA device run every built-in kind; a CUDA device needs a CUDA build of
/// libtorch (refused with the reason on this CPU build); a kind registered for the CPU only fails a CUDA worker naming it.
/// </summary>
public sealed class WorkerDeviceSpecs : IAsyncLifetime
{
    private CollectiveServer server = null!;

    public async Task InitializeAsync() => server = await CollectiveServer.StartAsync(new CollectiveServerOptions { BearerToken = "test-secret" });

    public async Task DisposeAsync() => await server.DisposeAsync();

    [Theory]
    [InlineData("cpu")]
    [InlineData("auto")]
    public void Should_compute_on_the_cpu_when_the_build_has_no_cuda(string requested)
    {
        Assert.Equal("cpu", RunCommands.WorkerDevice(requested));
    }

    [Fact]
    public void Should_refuse_cuda_naming_the_cpu_build_when_a_worker_is_asked_for_a_gpu()
    {
        var error = Assert.Throws<ArgumentException>(() => RunCommands.WorkerDevice("cuda:0"));

        Assert.Contains("this build's libtorch has no CUDA", error.Message);
    }

    [Fact]
    public void Should_let_every_built_in_kind_train_on_cuda_and_on_the_cpu_when_the_router_is_asked()
    {
        var onCuda = RunCommands.Sessions(server, "cuda:1", _ => { }, _ => { });
        var onCpu = RunCommands.Sessions(server, "cpu", _ => { }, _ => { });

        Assert.Equal(
            new[] { "blip2-stage1", "blip2-stage2", "clip", "instructblip", "llava-align", "llava-instruct", "lm", "plora" },
            onCuda.Kinds.Order(StringComparer.Ordinal));
        Assert.All(onCuda.Kinds, kind => Assert.Null(onCuda.DeviceRefusal("s", kind)));
        Assert.All(onCpu.Kinds, kind => Assert.Null(onCpu.DeviceRefusal("s", kind)));
    }

    [Fact]
    public void Should_fail_a_cuda_worker_naming_the_stage_and_its_kind_when_the_kind_was_registered_for_the_cpu_only()
    {
        var failures = new List<Exception>();
        var control = new FailureRecorder();
        var router = RunCommands.Sessions(server, "cuda:0", _ => { }, failures.Add)
            .Register("cpu-kind", (s, l, f) => throw new InvalidOperationException("never built on a CUDA worker"));

        router.OnGenerationStarted(Generation("captions", "cpu-kind"), control);

        var failure = Assert.IsType<NotSupportedException>(Assert.Single(failures));
        Assert.StartsWith("stage 'captions' has kind 'cpu-kind', which trains on the CPU only so far, but this worker computes on cuda:0", failure.Message);
        Assert.Contains("the kinds that run on a GPU are blip2-stage1, blip2-stage2, clip, instructblip, llava-align, llava-instruct, lm, plora", failure.Message);
        Assert.Equal([failure.Message], control.Reasons);
    }

    private static GenerationInfo Generation(string stage, string kind) => new("r", 1, 0, 1, [],
        new StageConfig { RunId = "r", RunDirectory = "/tmp/r", Stage = stage, Kind = kind, Preset = "p", ManifestPath = "/m" }.ToJsonBytes());

    private sealed class FailureRecorder : IControlPlane
    {
        public List<string> Reasons { get; } = [];

        public Task<ShardOffer> TryNextShardAsync(int epoch, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public void CompleteShard(ShardLease lease, long rowsConsumed, long step, IReadOnlyDictionary<string, long>? skippedByReason = null, long generation = 0) =>
            throw new NotSupportedException();

        public void ReportProgress(MmCluster.Shared.Grpc.Control.ReportProgress report) => throw new NotSupportedException();

        public Task<CheckpointCommit> CommitCheckpointAsync(long step, string path, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public void ReportFinished(long step) => throw new NotSupportedException();

        public void ReportFailed(string reason, int? lostPeerRank = null) => Reasons.Add(reason);
    }
}
