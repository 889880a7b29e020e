using MmCluster.Collectives;
using MmCluster.Worker.Model.Loss;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Distributed;

/// <summary>
/// The all-gather of features across the ranks of an <see cref="ICollectiveGroup"/>, inside autograd: forward gathers the
/// (b, ...) rows of every rank into (W·b, ...); backward reduce-scatters (SUM) the gradient of the gathered tensor, so the
/// owner of row j receives Σ_r ∂L_r/∂x_j (docs/exactness.md, condition 2). Runs synchronously on the
/// training thread. After <c>loss.backward()</c> call <see cref="CollectiveAutograd.ThrowIfBackwardFailed"/>.
/// </summary>
public sealed class CollectiveFeatureGatherer : CollectiveAutograd, IFeatureGatherer
{
    public CollectiveFeatureGatherer(ICollectiveGroup group)
        : base(group)
    {
    }

    public Tensor AllGather(Tensor local) => AllGatherFunction.apply(local, this);

    private Tensor ReduceScatterGradient(Tensor gradient) => GradientOrZeros(
        () => TensorCollectives.ReduceScatter(Group, gradient),
        () =>
        {
            var shape = gradient.shape;
            shape[0] /= WorldSize;
            return zeros(shape, gradient.dtype, gradient.device);
        });

    private sealed class AllGatherFunction : autograd.SingleTensorFunction<AllGatherFunction>
    {
        private const string Owner = "owner";

        public override string Name => nameof(AllGatherFunction);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var owner = (CollectiveFeatureGatherer)vars[1];
            ctx.save_data(Owner, owner);
            return TensorCollectives.AllGather(owner.Group, (Tensor)vars[0]);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            var owner = (CollectiveFeatureGatherer)ctx.get_data(Owner);
            return [owner.ReduceScatterGradient(grad_output), null!];
        }
    }
}
