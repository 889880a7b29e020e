using MmCluster.Collectives;
using MmCluster.Shared.Spec;
using MmCluster.Worker.Model;
using MmCluster.Worker.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MmCluster.Worker.Distributed;

/// <summary>
/// After backward, replaces every trainable parameter's gradient with its mean over ranks (docs/exactness.md,
/// condition 3), replicated scalars such as the logit scale and bias included. Gradients travel in flat float32
/// buckets of about 25 MB (as PyTorch DDP): few collectives, each large enough to reach the link's bandwidth. The bucket
/// layout is fixed by the first parameter list (at construction, or at the first <see cref="AverageGradients"/>): the
/// parameters that require grad (frozen ones are skipped), in the order given, which must be the same on every rank; a
/// parameter without a gradient contributes zeros, so ranks always agree. Before averaging it rethrows a failure of a
/// differentiable collective of the same group during backward (see <see cref="CollectiveAutograd"/>). The buckets are host
/// buffers made by the <see cref="HostStaging"/> (page-locked for a CUDA device) and kept across steps: packing copies the
/// gradients device -> host, unpacking host -> device; the row-sparse tables' mask and rows go through its kept buffers.
/// </summary>
public sealed partial class GradientAverager : IGradientAverager, IDisposable
{
    public const long DefaultBucketBytes = 25L * 1024 * 1024;

    private readonly ICollectiveGroup group;
    private readonly long bucketCapacity;
    private readonly WirePrecision wire;
    private readonly HostStaging? staging;
    private Tensor[] trainable = [];
    private Tensor[] rowSparse = [];
    private Bucket[]? buckets;

    /// <summary>
    /// 2-D parameters with at least this many rows (vocabulary embeddings) are averaged row-sparsely: only the rows that
    /// have a non-zero gradient on some rank travel. Exact: a row that is zero on every rank averages to zero.
    /// </summary>
    public const long RowSparseMinRows = 4096;

    /// <summary>
    /// Plans the buckets at the first <see cref="AverageGradients"/> (the way <c>StageOptimizer</c> calls it). With
    /// <paramref name="wire"/> = bf16 the gradients (buckets and touched rows) travel as bf16: half the bytes, averaged in
    /// float32, each rank left with the same rounded mean (inexact; the default float32 is what the equivalence specs prove).
    /// </summary>
    /// <param name="overlapWithBackward">
    /// From the second step on, all-reduce each bucket during backward as soon as its gradients are final (see
    /// <see cref="GradientReady"/>; <see cref="BeginStep"/> must then be called on the training thread before each forward).
    /// </param>
    /// <param name="staging">Makes the bucket buffers and stages the row-sparse tables (null: gradients on the CPU).</param>
    public GradientAverager(ICollectiveGroup group, long bucketBytes = DefaultBucketBytes, WirePrecision wire = WirePrecision.Float32,
        bool overlapWithBackward = false, HostStaging? staging = null)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketBytes, sizeof(float));
        this.group = group;
        this.wire = wire;
        this.overlapWithBackward = overlapWithBackward;
        this.staging = staging;
        bucketCapacity = bucketBytes / sizeof(float);
    }

    /// <summary>
    /// A stage's averager with the stage's <c>gradient_wire</c> and <c>gradient_overlap</c>; says so in the worker's log
    /// when the wire is not float32 or the overlap is off.
    /// </summary>
    public static GradientAverager ForStage(ICollectiveGroup group, GradientWire gradientWire, Action<string> log, bool overlapWithBackward = true,
        HostStaging? staging = null)
    {
        var wire = gradientWire switch
        {
            GradientWire.Float32 => WirePrecision.Float32,
            GradientWire.BFloat16 => WirePrecision.BFloat16,
            _ => throw new ArgumentOutOfRangeException(nameof(gradientWire), gradientWire, "unknown gradient wire"),
        };
        if (wire != WirePrecision.Float32 && group.WorldSize > 1)
        {
            log($"gradients are averaged with {wire} on the wire (gradient_wire): half the bytes, not bit-exact");
        }
        if (!overlapWithBackward && group.WorldSize > 1)
        {
            log("gradients are averaged after backward, not overlapped with it (gradient_overlap: false)");
        }
        return new GradientAverager(group, wire: wire, overlapWithBackward: overlapWithBackward, staging: staging);
    }

    /// <summary>Plans the buckets now, for <see cref="Average"/>.</summary>
    public GradientAverager(ICollectiveGroup group, IEnumerable<Tensor> parameters, long bucketBytes = DefaultBucketBytes,
        WirePrecision wire = WirePrecision.Float32)
        : this(group, bucketBytes, wire)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Plan(parameters);
    }

    /// <summary>Trainable parameters averaged.</summary>
    public int ParameterCount => trainable.Length;

    /// <summary>Gradient elements averaged per step (the all-reduce moves 4 bytes each).</summary>
    public long ElementCount => trainable.Sum(p => p.numel());

    public int BucketCount => buckets?.Length ?? 0;

    /// <summary><see cref="IGradientAverager"/>: the list must be the same (same tensors, same order) at every call.</summary>
    public void AverageGradients(IReadOnlyList<Parameter> parameters) => AverageGradients(parameters, []);

    /// <summary><see cref="IGradientAverager"/> with the rows a step can have touched (see <see cref="TouchedRows"/>).</summary>
    public void AverageGradients(IReadOnlyList<Parameter> parameters, IReadOnlyList<TouchedRows> touched)
    {
        if (buckets is null)
        {
            Plan(parameters);
        }
        else if (!parameters.Where(p => p.requires_grad).Select(p => p.Handle).SequenceEqual(trainable.Select(p => p.Handle)))
        {
            throw new ArgumentException("the parameters differ from those the gradient buckets were planned for", nameof(parameters));
        }

        Average(touched);
    }

    /// <summary>Averages the gradients over ranks, in place; blocks until every bucket's all-reduce completes.</summary>
    public void Average() => Average([]);

    private void Average(IReadOnlyList<TouchedRows> touched)
    {
        var planned = buckets ?? throw new InvalidOperationException("no parameters yet: construct with them or call AverageGradients");
        BackwardFailure.Of(group).ThrowIfFailed($"rank {group.Rank}: a collective of the backward pass");
        if (group.WorldSize == 1)
        {
            return; // the mean over one rank is the gradient itself
        }

        using var noGrad = no_grad();
        if (overlapping)
        {
            FinishOverlapped(planned);
        }
        else
        {
            foreach (var bucket in planned)
            {
                bucket.Pack();
                TensorCollectives.Wait(() => group.AllReduceAsync(TensorMemory.Of(bucket.Flat), ReduceOp.Mean, wire));
                bucket.Unpack();
            }
            PlanOverlap();
        }
        foreach (var table in rowSparse)
        {
            // Same storage, not same handle: each managed wrapper of a parameter has its own handle.
            AverageRows(table, touched.FirstOrDefault(t => TensorMemory.SameData(t.Table, table))?.Ids);
        }
    }

    /// <summary>
    /// Averages only the rows some rank touched: a union mask (all-reduce of V floats), then those k rows. The mask comes
    /// from the ids the step looked up when it said so (<paramref name="ids"/>), else from scanning the dense gradient.
    /// </summary>
    private void AverageRows(Tensor table, Tensor? ids)
    {
        using var scope = NewDisposeScope();
        if (table.grad is null)
        {
            table.grad = zeros_like(table).DetachFromDisposeScope();   // this rank never touched the table: zeros
        }
        var grad = table.grad!;
        var mask = ids is null ? ScanTouchedRows(grad) : TouchedRowsMask(table, grad, ids); // (V,) 1 where this rank has a gradient
        AllReduce(mask, "row-sparse.mask", ReduceOp.Sum, WirePrecision.Float32);
        var index = mask.Greater(0).nonzero().squeeze(1);                                  // (k,) rows touched by any rank
        if (index.numel() == 0)
        {
            return;
        }
        var rows = grad.index_select(0, index).to_type(ScalarType.Float32).contiguous(); // (k, D)
        AllReduce(rows, "row-sparse.rows", ReduceOp.Mean, wire);
        grad.index_copy_(0, index, rows.to_type(grad.dtype));
    }

    /// <summary>All-reduces a contiguous float32 tensor in place: on its storage on the CPU, else through a kept host buffer.</summary>
    private void AllReduce(Tensor tensor, string slot, ReduceOp op, WirePrecision precision)
    {
        if (staging is { Stages: true })
        {
            staging.InPlace(tensor, slot, buffer => group.AllReduceAsync(buffer, op, precision));
            return;
        }
        TensorCollectives.Wait(() => group.AllReduceAsync(TensorMemory.Of(tensor), op, precision));
    }

    private static Tensor ScanTouchedRows(Tensor grad) => grad.NotEqualTo(0).any(1).to_type(ScalarType.Float32).contiguous();

    private static Tensor TouchedRowsMask(Tensor table, Tensor grad, Tensor ids)
    {
        var mask = zeros(table.shape[0], ScalarType.Float32, table.device);
        mask.IndexFillInPlace(0, ids.reshape(-1).to_type(ScalarType.Int64), 1.0);
        CheckPromise(grad, mask);
        return mask;
    }

    /// <summary>Debug builds (the tests) hold the step to its promise: no row outside the ids may have a gradient.</summary>
    [System.Diagnostics.Conditional("DEBUG")]
    private static void CheckPromise(Tensor grad, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var outside = ScanTouchedRows(grad).Greater(0).logical_and(mask.EqualTo(0)).nonzero();
        if (outside.numel() > 0)
        {
            throw new InvalidOperationException(
                $"the step said only its looked-up ids touch a table of {grad.shape[0]} rows, but row {outside[0, 0].item<long>()} (and {outside.shape[0] - 1} more) has a gradient");
        }
    }

    public void Dispose()
    {
        GradientReady.Forget(this);
        DisposeBuckets();
    }

    private void DisposeBuckets()
    {
        foreach (var bucket in buckets ?? [])
        {
            bucket.Flat.Dispose();
            bucket.PackedAtLaunch?.Dispose();
        }
        buckets = null;
    }

    private void Plan(IEnumerable<Tensor> parameters)
    {
        trainable = [.. parameters.Where(p => p.requires_grad)];
        rowSparse = [.. trainable.Where(IsRowSparse)];
        buckets = Plan([.. trainable.Where(p => !IsRowSparse(p))], bucketCapacity, staging);
    }

    private static bool IsRowSparse(Tensor parameter) => parameter.dim() == 2 && parameter.shape[0] >= RowSparseMinRows;

    private static Bucket[] Plan(Tensor[] trainable, long capacity, HostStaging? staging)
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
                buckets.Add(new Bucket(members, size, staging));
                members = [];
                size = 0;
            }
        }

        if (members.Count > 0)
        {
            buckets.Add(new Bucket(members, size, staging));
        }

        return [.. buckets];
    }

    /// <summary>
    /// A run of parameters whose gradients share one flat float32 host buffer (owned here, outside any dispose scope; from
    /// the staging when there is one, so page-locked for a CUDA device).
    /// </summary>
    private sealed class Bucket
    {
        private readonly Tensor[] members;

        public Bucket(List<Tensor> members, long size, HostStaging? staging, nn.Module[]? owners = null)
        {
            this.members = [.. members];
            Owners = owners ?? [];
            Flat = staging?.NewHostBuffer(size) ?? empty(size, ScalarType.Float32, CPU).DetachFromDisposeScope();
        }

        public Tensor Flat { get; }

        /// <summary>The blocks whose parameters this bucket holds (overlapped buckets); empty: averaged after backward.</summary>
        public nn.Module[] Owners { get; }

        /// <summary>This step's all-reduce, once launched.</summary>
        public Task? Launched { get; set; }

        /// <summary>Debug builds: what was packed at launch, to prove no gradient of the bucket changed after it.</summary>
        public Tensor? PackedAtLaunch { get; set; }

        public void Pack() => PackInto(Flat);

        /// <summary>Copies the members' gradients (zeros for none) into <paramref name="target"/>, a flat float32 of the bucket's size.</summary>
        public void PackInto(Tensor target)
        {
            long offset = 0;
            foreach (var parameter in members)
            {
                var numel = parameter.numel();
                using var slice = target.narrow(0, offset, numel);
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
