using MmCluster.Collectives;
using MmCluster.Shared.Runs;
using MmCluster.Worker.Model.Loss;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Distributed;

/// <summary>
/// <see cref="IRingExchanger"/> over <see cref="ICollectiveGroup.NeighborExchangeAsync"/>: forward passes the tensor one
/// rank along the ring; backward passes its gradient one rank back, to the rank that sent it (OpenCLIP's
/// neighbour_exchange_with_grad). As with the gatherer, call <see cref="CollectiveAutograd.ThrowIfBackwardFailed"/> after
/// <c>loss.backward()</c>. The ring moves equal blocks only: told the stage's global batch, it refuses a split that W does
/// not divide (naming the stage and the split) instead of padding (docs/exactness.md, "Uneven splits").
/// </summary>
public sealed class CollectiveRingExchanger : CollectiveAutograd, IRingExchanger
{
    private readonly int? globalBatch;
    private readonly string stage;

    /// <param name="group">The stage's group.</param>
    /// <param name="globalBatch">The stage's global batch B; null: every rank holds as many rows as this one.</param>
    /// <param name="stage">The stage, for the refusal of an uneven split.</param>
    public CollectiveRingExchanger(ICollectiveGroup group, int? globalBatch = null, string stage = "siglip")
        : base(group)
    {
        this.globalBatch = globalBatch;
        this.stage = stage;
    }

    public Tensor Exchange(Tensor send, bool forward = true)
    {
        RequireEvenSplit();
        return ExchangeFunction.apply(send, this, forward);
    }

    /// <summary>Reads the world at the call: a recovery that shrinks the world can turn an even split uneven.</summary>
    private void RequireEvenSplit()
    {
        var world = WorldSize;
        if (globalBatch is { } b && !BatchSplit.IsEven(b, world))
        {
            var rows = Enumerable.Range(0, world).Select(r => BatchSplit.Rows(b, world, r));
            throw new InvalidOperationException(
                $"stage '{stage}': SigLIP's ring exchange moves equal blocks, but a global batch of {b} over {world} ranks splits {string.Join("/", rows)}; use a global batch divisible by the world size, or the clip loss");
        }
    }

    // The gradient of what came from r-1 belongs to r-1: send it back against the forward direction.
    private Tensor ExchangeGradient(Tensor gradient, bool forward) => GradientOrZeros(
        () => TensorCollectives.NeighborExchange(Group, gradient, !forward),
        () => zeros_like(gradient));

    private sealed class ExchangeFunction : autograd.SingleTensorFunction<ExchangeFunction>
    {
        private const string Owner = "owner";
        private const string Forward = "forward";

        public override string Name => nameof(ExchangeFunction);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var owner = (CollectiveRingExchanger)vars[1];
            var forward = (bool)vars[2];
            ctx.save_data(Owner, owner);
            ctx.save_data(Forward, forward);
            return TensorCollectives.NeighborExchange(owner.Group, (Tensor)vars[0], forward);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            var owner = (CollectiveRingExchanger)ctx.get_data(Owner);
            return [owner.ExchangeGradient(grad_output, (bool)ctx.get_data(Forward)), null!, null!];
        }
    }
}
