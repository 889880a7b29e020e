using MmCluster.Collectives;
using MmCluster.Worker.Model.Loss;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Distributed;

/// <summary>
/// <see cref="IRingExchanger"/> over <see cref="ICollectiveGroup.NeighborExchangeAsync"/>: forward passes the tensor one
/// rank along the ring; backward passes its gradient one rank back, to the rank that sent it (OpenCLIP's
/// neighbour_exchange_with_grad). As with the gatherer, call <see cref="CollectiveAutograd.ThrowIfBackwardFailed"/> after
/// <c>loss.backward()</c>.
/// </summary>
public sealed class CollectiveRingExchanger : CollectiveAutograd, IRingExchanger
{
    public CollectiveRingExchanger(ICollectiveGroup group)
        : base(group)
    {
    }

    public Tensor Exchange(Tensor send, bool forward = true) => ExchangeFunction.apply(send, this, forward);

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
