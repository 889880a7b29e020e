using MmCluster.Collectives;
using MmCluster.Worker.Model.Loss;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Distributed;

/// <summary>
/// The all-gather of features across the ranks of an <see cref="ICollectiveGroup"/>, inside autograd: forward gathers the
/// (b_r, ...) rows of every rank into (B, ...) in rank order; backward reduce-scatters (SUM) the gradient of the gathered
/// tensor, so the owner of row j receives Σ_r ∂L_r/∂x_j (docs/exactness.md, condition 2). When the ranks hold different
/// row counts (the stage's global batch B split by <see cref="Shared.Runs.BatchSplit"/>), every rank pads its block with
/// zero rows to the largest, the padded blocks are gathered and the padding dropped; backward puts the gradient back into
/// the padded layout (zeros in the padding), reduce-scatters it and keeps this rank's real rows. An even split takes the
/// plain path. Rank, world and the split are read at every call (<see cref="GroupBatchLayout"/>). Runs synchronously on the
/// training thread. After <c>loss.backward()</c> call <see cref="CollectiveAutograd.ThrowIfBackwardFailed"/>. Features on a
/// CUDA device travel through the <see cref="HostStaging"/>'s kept host buffers, both ways.
/// </summary>
public sealed class CollectiveFeatureGatherer : CollectiveAutograd, IFeatureGatherer
{
    private readonly GroupBatchLayout layout;
    private readonly HostStaging? staging;

    /// <param name="group">The stage's group.</param>
    /// <param name="globalBatch">The stage's global batch B; null: every rank holds as many rows as this one.</param>
    /// <param name="staging">How features cross to the host and back (null: they are on the CPU, used in place).</param>
    public CollectiveFeatureGatherer(ICollectiveGroup group, int? globalBatch = null, HostStaging? staging = null)
        : base(group)
    {
        layout = new GroupBatchLayout(group, globalBatch);
        this.staging = staging;
    }

    public long RowOffset(long localRows) => layout.RowOffset(localRows);

    public double LossWeight(long localRows) => layout.LossWeight(localRows);

    public Tensor AllGather(Tensor local)
    {
        if (local.dim() == 0)
        {
            throw new ArgumentException("collectives on tensors need a leading (row) dimension, got a scalar", nameof(local));
        }
        var rows = layout.RowsOfRanks(local.shape[0]);
        return AllGatherFunction.apply(local, this, rows);
    }

    private static bool IsEven(int[] rows) => rows.All(r => r == rows[0]);

    private Tensor Gather(Tensor local, int[] rows)
    {
        if (IsEven(rows))
        {
            return TensorCollectives.AllGather(Group, local, staging);
        }
        var max = rows.Max();
        using var _ = no_grad();
        using var padded = PadRows(local, max);
        using var all = TensorCollectives.AllGather(Group, padded, staging);               // (W·max, ...)
        var blocks = rows.Select((n, s) => all.narrow(0, (long)s * max, n)).ToArray();
        try
        {
            return cat(blocks, 0);                                                 // (B, ...), padding dropped
        }
        finally
        {
            foreach (var block in blocks)
            {
                block.Dispose();
            }
        }
    }

    private Tensor ReduceScatterGradient(Tensor gradient, int[] rows, int rank) => GradientOrZeros(
        () =>
        {
            if (IsEven(rows))
            {
                return TensorCollectives.ReduceScatter(Group, gradient, staging);
            }
            var max = rows.Max();
            var shape = gradient.shape;
            shape[0] = (long)rows.Length * max;
            using var padded = zeros(shape, gradient.dtype, gradient.device);       // (W·max, ...), zeros in the padding
            var offset = 0L;
            for (var s = 0; s < rows.Length; s++)
            {
                using var target = padded.narrow(0, (long)s * max, rows[s]);
                using var source = gradient.narrow(0, offset, rows[s]);
                target.copy_(source);
                offset += rows[s];
            }
            using var mine = TensorCollectives.ReduceScatter(Group, padded, staging);      // (max, ...)
            using var real = mine.narrow(0, 0, rows[rank]);
            return real.clone();
        },
        () =>
        {
            var shape = gradient.shape;
            shape[0] = rows[rank];
            return zeros(shape, gradient.dtype, gradient.device);
        });

    private static Tensor PadRows(Tensor local, long rows)
    {
        var shape = local.shape;
        shape[0] = rows;
        var padded = zeros(shape, local.dtype, local.device);
        using var head = padded.narrow(0, 0, local.shape[0]);
        head.copy_(local);
        return padded;
    }

    private sealed class AllGatherFunction : autograd.SingleTensorFunction<AllGatherFunction>
    {
        private const string Owner = "owner";
        private const string Rows = "rows";
        private const string Rank = "rank";

        public override string Name => nameof(AllGatherFunction);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var owner = (CollectiveFeatureGatherer)vars[1];
            var rows = (int[])vars[2];
            ctx.save_data(Owner, owner);
            ctx.save_data(Rows, rows);
            ctx.save_data(Rank, owner.Rank);
            return owner.Gather((Tensor)vars[0], rows);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            var owner = (CollectiveFeatureGatherer)ctx.get_data(Owner);
            var rows = (int[])ctx.get_data(Rows);
            var rank = (int)ctx.get_data(Rank);
            return [owner.ReduceScatterGradient(grad_output, rows, rank), null!, null!];
        }
    }
}
