using MmCluster.Collectives.Ring;
using MmCluster.Collectives.Tests.Ring;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Tests.Loss;
using MmCluster.Worker.Tests.Training;
using MmCluster.Worker.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Distributed;

/// <summary>
/// Every stage kind on the worker's device (issue 17, item 4), run on the CPU with staging forced as <c>HostStagingSpecs</c>
/// does for clip: two ranks over real gRPC collectives on loopback, rank 0's weights broadcast, gradients averaged in
/// overlapped buckets, BLIP-2 stage 1's features all-gathered with the reduce-scatter backward, all through host buffers;
/// each kind's step gives the losses, gradients and weights of the unstaged path.
/// </summary>
public sealed class KindStagingSpecs
{
    private const int World = 2;
    private const int Steps = 3;
    private const int LocalBatch = 4;

    [Theory]
    [MemberData(nameof(KindSteps.Kinds), MemberType = typeof(KindSteps))]
    public async Task Should_give_the_losses_gradients_and_weights_of_the_unstaged_path_when_a_two_rank_step_is_staged_through_host_buffers(string kind)
    {
        Dictionary<string, Tensor> initial;
        using (var reference = KindSteps.NewModel(kind))
        {
            initial = KindSteps.Copy(reference);
        }
        try
        {
            var plain = await Train(kind, initial, forceStaging: false);
            var staged = await Train(kind, initial, forceStaging: true);

            for (var rank = 0; rank < World; rank++)
            {
                Assert.Empty(plain[rank].Slots);                                // on the CPU, unforced: nothing staged, no kept buffer
                Assert.True(staged[rank].Allocations > plain[rank].Allocations,    // the gradient buckets are host buffers in both
                    $"rank {rank}: staging allocated no host buffer beyond the gradient buckets");
                Assert.DoesNotContain("broadcast", staged[rank].Slots);         // used once at the start, then freed
                if (kind == "blip2-stage1")
                {
                    Assert.Superset(new HashSet<string> { "all-gather.send", "all-gather.receive", "reduce-scatter.send", "reduce-scatter.receive" },
                        new HashSet<string>(staged[rank].Slots));
                }
                for (var step = 0; step < Steps; step++)
                {
                    var (expected, actual) = (plain[rank].Losses[step], staged[rank].Losses[step]);
                    Assert.True(Math.Abs(actual - expected) <= 1e-6 * Math.Abs(expected),
                        $"{kind}, rank {rank}, step {step + 1}: the staged loss {actual} differs from the unstaged {expected}");
                }
                foreach (var (what, expected, actual) in plain[rank].Gradients.Zip(staged[rank].Gradients, (e, a) => ("gradient", e, a))
                    .Concat(plain[rank].Weights.Zip(staged[rank].Weights, (e, a) => ("weight", e, a))))
                {
                    Assert.Equal(expected.Name, actual.Name);
                    var error = GradientEquivalence.RelativeError(expected.Values, actual.Values);
                    Assert.True(error <= 1e-6, $"{kind}, rank {rank}: the staged {what} of {expected.Name} differs from the unstaged one by {error:E2} relative");
                }
            }
            Assert.Contains(staged[0].Gradients, g => g.Values.Length > 0 && g.Values.Any(v => v != 0));   // it trained something
            // Rank 1 started from other weights: the broadcast (staged too) made both ranks train rank 0's.
            foreach (var ((name, first), (_, second)) in staged[0].Weights.Zip(staged[1].Weights))
            {
                Assert.True(GradientEquivalence.RelativeError(first, second) <= 1e-6, $"{kind}: the replicas' {name} differ after staged steps");
            }
        }
        finally
        {
            foreach (var value in initial.Values)
            {
                value.Dispose();
            }
        }
    }

    private sealed record RankRun(
        float[] Losses,
        IReadOnlyList<(string Name, double[] Values)> Gradients,
        IReadOnlyList<(string Name, double[] Values)> Weights,
        IReadOnlyList<string> Slots,
        int Allocations);

    /// <summary>W ranks over loopback gRPC, each the kind's step as its session builds it, for <see cref="Steps"/> steps.</summary>
    private static async Task<RankRun[]> Train(string kind, IReadOnlyDictionary<string, Tensor> initial, bool forceStaging)
    {
        await using var ring = await LoopbackRing.StartAsync(World, deadline: TimeSpan.FromSeconds(30), transport: CollectiveTransport.Grpc);
        return RankThreads.Run(World, rank =>
        {
            var group = ring.Groups[rank];
            using var model = KindSteps.NewModel(kind);
            KindSteps.Load(model, initial, offset: rank == 1 ? 0.5 : 0);   // the broadcast must bring rank 0's weights
            using var staging = new HostStaging(CPU, forceStaging);
            ParameterBroadcast.FromRoot(group, model.state_dict().Values, staging: staging);
            using var averager = new GradientAverager(group, overlapWithBackward: true, staging: staging);
            using var step = KindSteps.NewStep(kind, model, new TrainOptions { LearningRate = 3e-3, TotalSteps = 10 }, group, averager, staging);
            var losses = new float[Steps];
            for (var i = 0; i < Steps; i++)
            {
                losses[i] = step.Run(KindSteps.Batch(kind, LocalBatch, seed: (10 * i) + rank)).Loss;
            }
            return new RankRun(losses, KindSteps.Values(model, p => p.grad), KindSteps.Values(model, p => p), [.. staging.Slots], staging.Allocations);
        }, TimeSpan.FromSeconds(120));
    }
}
