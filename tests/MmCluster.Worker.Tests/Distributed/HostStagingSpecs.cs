using MmCluster.Collectives.Ring;
using MmCluster.Collectives.Tests.Ring;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Model;
using MmCluster.Worker.Tests.Loss;
using MmCluster.Worker.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Distributed;

/// <summary>
/// The GPU path's staging (issue 17, item 4), run on the CPU with staging forced: the clip step of a distributed trainer
/// (rank 0's weights broadcast, features all-gathered with the reduce-scatter backward, gradients averaged in overlapped
/// buckets, the row-sparse token embedding) gives the same gradients and weights through host buffers as in place, over
/// real gRPC collectives on loopback; the kept buffers are the same from step to step; a batch is copied only when staged.
/// </summary>
public sealed class HostStagingSpecs
{
    private const int World = 2;
    private const int Steps = 4;
    private const int LocalBatch = 8;

    [Fact]
    public async Task Should_give_the_gradients_and_weights_of_the_unstaged_path_when_a_two_rank_clip_step_is_staged_through_host_buffers()
    {
        var (plain, staged) = await FromOneStart(async (config, initial) =>
            (await Train(config, initial, forceStaging: false), await Train(config, initial, forceStaging: true)));

        for (var rank = 0; rank < World; rank++)
        {
            Assert.Empty(plain[rank].Slots);   // on the CPU, unforced: nothing staged, no kept buffer
            Assert.Superset(new HashSet<string> { "all-gather.send", "all-gather.receive", "reduce-scatter.send", "reduce-scatter.receive", "row-sparse.mask", "row-sparse.rows" },
                new HashSet<string>(staged[rank].Slots));
            Assert.DoesNotContain("broadcast", staged[rank].Slots);   // used once at the start, then freed
            foreach (var (what, expected, actual) in plain[rank].Gradients.Zip(staged[rank].Gradients, (e, a) => ("gradient", e, a))
                .Concat(plain[rank].Weights.Zip(staged[rank].Weights, (e, a) => ("weight", e, a))))
            {
                Assert.Equal(expected.Name, actual.Name);
                var error = GradientEquivalence.RelativeError(expected.Values, actual.Values);
                Assert.True(error <= 1e-6, $"rank {rank}: the staged {what} of {expected.Name} differs from the unstaged one by {error:E2} relative");
            }
        }
        // Rank 1 started from other weights: the broadcast (staged too) made both ranks train rank 0's.
        foreach (var ((name, first), (_, second)) in staged[0].Weights.Zip(staged[1].Weights))
        {
            Assert.True(GradientEquivalence.RelativeError(first, second) <= 1e-6, $"the replicas' {name} differ after staged steps");
        }
    }

    [Fact]
    public async Task Should_reuse_the_same_host_buffers_across_steps_when_staging_is_forced()
    {
        var ranks = await FromOneStart((config, initial) => Train(config, initial, forceStaging: true));

        foreach (var rank in ranks)
        {
            // Step 1 averages after backward and then plans the overlapped buckets; from step 2 on nothing is allocated.
            Assert.All(rank.AllocationsAfterStep.Skip(1), count => Assert.Equal(rank.AllocationsAfterStep[1], count));
            Assert.All(rank.GatherSendAddressAfterStep, address => Assert.NotEqual(0L, address));
            Assert.All(rank.GatherSendAddressAfterStep, address => Assert.Equal(rank.GatherSendAddressAfterStep[0], address));
            Assert.All(rank.ReduceScatterReceiveAddressAfterStep, address => Assert.Equal(rank.ReduceScatterReceiveAddressAfterStep[0], address));
        }
    }

    [Fact]
    public void Should_copy_a_batch_only_when_staging_is_forced_on_the_cpu()
    {
        using var host = arange(12, dtype: ScalarType.Float32).reshape(3, 4);
        using var unstaged = HostStaging.Unstaged();
        using var forced = new HostStaging(CPU, forceStaging: true);

        using var inPlace = unstaged.ToDevice(host);
        using var copied = forced.ToDevice(host);

        Assert.False(unstaged.Stages);
        Assert.True(forced.Stages);
        Assert.False(forced.Pins);                                 // a CPU-only libtorch cannot pin; CUDA pins
        Assert.True(TensorMemory.SameData(host, inPlace));        // the CPU uses the batch where it is
        Assert.False(TensorMemory.SameData(host, copied));        // staged: a host copy, then to the device
        Assert.Equal(host.data<float>().ToArray(), copied.data<float>().ToArray());
    }

    [Fact]
    public void Should_grow_a_kept_buffer_only_when_a_larger_payload_comes_when_the_same_slot_is_asked_again()
    {
        using var staging = new HostStaging(CPU, forceStaging: true);

        using (var first = staging.Buffer("slot", 10))
        {
            Assert.Equal(10, first.numel());
        }
        var address = staging.BufferAddress("slot");
        using (var smaller = staging.Buffer("slot", 6))
        {
            Assert.Equal(6, smaller.numel());
        }
        Assert.Equal(address, staging.BufferAddress("slot"));
        Assert.Equal(1, staging.Allocations);

        using (var larger = staging.Buffer("slot", 11))
        {
            Assert.Equal(11, larger.numel());
        }
        Assert.Equal(2, staging.Allocations);
        using (var doubled = staging.Buffer("slot", 20))   // the regrown buffer holds twice the old one: 20 floats
        {
            Assert.Equal(20, doubled.numel());
        }
        Assert.Equal(2, staging.Allocations);
    }

    private sealed record RankRun(
        IReadOnlyList<(string Name, double[] Values)> Gradients,
        IReadOnlyList<(string Name, double[] Values)> Weights,
        IReadOnlyList<string> Slots,
        int[] AllocationsAfterStep,
        long[] GatherSendAddressAfterStep,
        long[] ReduceScatterReceiveAddressAfterStep);

    /// <summary>Runs <paramref name="body"/> with a micro CLIP config (a row-sparse token embedding) and one set of start weights.</summary>
    private static async Task<T> FromOneStart<T>(Func<ClipConfig, Tensor[], Task<T>> body)
    {
        var config = ClipConfig.Micro with { VocabSize = (int)GradientAverager.RowSparseMinRows + 4 };
        using var reference = new ClipModel(config);
        var initial = reference.parameters().Select(p => p.detach().clone()).ToArray();
        try
        {
            return await body(config, initial);
        }
        finally
        {
            foreach (var value in initial)
            {
                value.Dispose();
            }
        }
    }

    /// <summary>W ranks over loopback gRPC, each a clip step as <c>ClipTrainingSession</c> builds it, for <see cref="Steps"/> steps.</summary>
    private static async Task<RankRun[]> Train(ClipConfig config, Tensor[] initial, bool forceStaging)
    {
        await using var ring = await LoopbackRing.StartAsync(World, deadline: TimeSpan.FromSeconds(30), transport: CollectiveTransport.Grpc);
        return RankThreads.Run(World, rank =>
        {
            var group = ring.Groups[rank];
            using var model = new ClipModel(config);
            using (no_grad())
            {
                foreach (var (parameter, value) in model.parameters().Zip(initial))
                {
                    parameter.copy_(value);
                    if (rank == 1)
                    {
                        parameter.add_(0.5);   // the broadcast must bring rank 0's weights
                    }
                }
            }
            using var staging = new HostStaging(CPU, forceStaging);
            ParameterBroadcast.FromRoot(group, model.state_dict().Values, staging: staging);
            using var averager = new GradientAverager(group, overlapWithBackward: true, staging: staging);
            using var step = new TrainStep(model, new TrainOptions { LearningRate = 3e-3, TotalSteps = 10 },
                new CollectiveFeatureGatherer(group, staging: staging), averager, staging);
            var allocations = new int[Steps];
            var gatherSend = new long[Steps];
            var scatterReceive = new long[Steps];
            for (var i = 0; i < Steps; i++)
            {
                step.Run(StepBenchmark.RandomBatch(config, LocalBatch, new Random(10 * i + rank)));
                allocations[i] = staging.Allocations;
                gatherSend[i] = staging.BufferAddress("all-gather.send");
                scatterReceive[i] = staging.BufferAddress("reduce-scatter.receive");
            }
            Assert.True(averager.LaunchedDuringBackward > 0, $"rank {rank}: no bucket was launched during backward");
            return new RankRun(Values(model, p => p.grad), Values(model, p => p), [.. staging.Slots], allocations, gatherSend, scatterReceive);
        });
    }

    private static List<(string Name, double[] Values)> Values(ClipModel model, Func<Tensor, Tensor?> pick) =>
        [.. model.named_parameters().Select(p => (p.name, pick(p.parameter) is { } t ? t.detach().to_type(ScalarType.Float64).data<double>().ToArray() : []))];
}
