using MmCluster.Shared.Collectives;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Collectives;

/// <summary>
/// After backward, replaces every trainable parameter's gradient with its mean over ranks (REFERENCES.md, "when is it
/// exact", condition 3), replicated scalars such as the logit scale and bias included. Gradients travel in flat float32
/// buckets of about 25 MB (as PyTorch DDP): few collectives, each large enough to reach the link's bandwidth. The bucket
/// layout is fixed at construction from the parameters that require grad (frozen ones are skipped), in the order given,
/// which must be the same on every rank; a parameter without a gradient contributes zeros, so ranks always agree.
/// </summary>
public sealed class GradientAverager : IDisposable
{
    public const long DefaultBucketBytes = 25L * 1024 * 1024;

    private readonly ICollectiveGroup group;
    private readonly Bucket[] buckets;

    public GradientAverager(ICollectiveGroup group, IEnumerable<Tensor> parameters, long bucketBytes = DefaultBucketBytes)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketBytes, sizeof(float));
        this.group = group;
        var trainable = parameters.Where(p => p.requires_grad).ToList();
        ParameterCount = trainable.Count;
        ElementCount = trainable.Sum(p => p.numel());
        buckets = Plan(trainable, bucketBytes / sizeof(float));
    }

    /// <summary>Trainable parameters averaged.</summary>
    public int ParameterCount { get; }

    /// <summary>Gradient elements averaged per step (the all-reduce moves 4 bytes each).</summary>
    public long ElementCount { get; }

    public int BucketCount => buckets.Length;

    /// <summary>Averages the gradients over ranks, in place; blocks until every bucket's all-reduce completes.</summary>
    public void Average()
    {
        if (group.WorldSize == 1)
        {
            return; // the mean over one rank is the gradient itself
        }

        using var noGrad = no_grad();
        foreach (var bucket in buckets)
        {
            bucket.Pack();
            TensorCollectives.Wait(() => group.AllReduceAsync(TensorMemory.Of(bucket.Flat), ReduceOp.Mean));
            bucket.Unpack();
        }
    }

    public void Dispose()
    {
        foreach (var bucket in buckets)
        {
            bucket.Flat.Dispose();
        }
    }

    private static Bucket[] Plan(List<Tensor> trainable, long capacity)
    {
        var buckets = new List<Bucket>();
        var members = new List<Tensor>();
        long size = 0;
        foreach (var parameter in trainable)
        {
            members.Add(parameter);
            size += parameter.numel();
            if (size >= capacity)
            {
                buckets.Add(new Bucket(members, size));
                members = [];
                size = 0;
            }
        }

        if (members.Count > 0)
        {
            buckets.Add(new Bucket(members, size));
        }

        return [.. buckets];
    }

    /// <summary>A run of parameters whose gradients share one flat float32 buffer (owned here, outside any dispose scope).</summary>
    private sealed class Bucket
    {
        private readonly Tensor[] members;

        public Bucket(List<Tensor> members, long size)
        {
            this.members = [.. members];
            Flat = empty(size, ScalarType.Float32, CPU).DetachFromDisposeScope();
        }

        public Tensor Flat { get; }

        public void Pack()
        {
            long offset = 0;
            foreach (var parameter in members)
            {
                var numel = parameter.numel();
                using var slice = Flat.narrow(0, offset, numel);
                using var grad = parameter.grad;
                if (grad is null)
                {
                    slice.zero_();
                }
                else
                {
                    using var flat = grad.reshape(-1);
                    slice.copy_(flat);
                }

                offset += numel;
            }
        }

        public void Unpack()
        {
            long offset = 0;
            foreach (var parameter in members)
            {
                var numel = parameter.numel();
                using var slice = Flat.narrow(0, offset, numel);
                using var shaped = slice.view(parameter.shape);
                using var grad = parameter.grad;
                if (grad is null)
                {
                    using var typed = shaped.to(parameter.dtype, parameter.device, copy: true);
                    parameter.grad = typed;
                }
                else
                {
                    grad.copy_(shaped);
                }

                offset += numel;
            }
        }
    }
}
