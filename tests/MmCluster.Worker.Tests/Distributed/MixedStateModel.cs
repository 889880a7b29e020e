using MmCluster.Worker.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MmCluster.Worker.Tests.Distributed;

/// <summary>
/// A tiny model whose state has every kind a transfer must move bit-exactly: float32 weights, a trainable bf16 gain (bf16
/// AdamW moments), a frozen bf16 table (no optimizer state), BatchNorm's running statistics and its int64
/// <c>num_batches_tracked</c>, and an int64 buffer of its own.
/// </summary>
internal sealed class MixedStateModel : Module<Tensor, Tensor>
{
    public const int Inputs = 6;
    private readonly Linear fc1;
    private readonly BatchNorm1d norm;
    private readonly Linear fc2;
    private readonly Parameter gain;
    private readonly Parameter frozen;
    private readonly Tensor seen;

    public MixedStateModel(int hidden = 12) : base(nameof(MixedStateModel))
    {
        fc1 = Linear(Inputs, hidden);
        norm = BatchNorm1d(hidden);
        fc2 = Linear(hidden, 3);
        gain = Parameter(rand(3).to_type(ScalarType.BFloat16));
        frozen = Parameter(randn(4, 3).to_type(ScalarType.BFloat16), requires_grad: false);
        seen = zeros(2, dtype: ScalarType.Int64);
        register_buffer("seen", seen);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var h = fc1.forward(x);
        using var n = norm.forward(h);
        using var r = functional.relu(n);
        using var o = fc2.forward(r);
        using var g = gain.to_type(ScalarType.Float32);
        using var f = frozen.to_type(ScalarType.Float32);
        using var bias = f.sum();                      // a scalar (a bare sum(0) would bind to sum(ScalarType.Byte))
        using var scaled = o * g;
        using (no_grad())
        {
            seen.add_(1);
        }
        return scaled + bias;
    }

    /// <summary>Runs <paramref name="steps"/> optimizer steps alone (no averaging) on batches drawn from <paramref name="seed"/>.</summary>
    public static void Train(MixedStateModel model, StageOptimizer optimizer, int steps, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            optimizer.Begin();
            var x = tensor(Enumerable.Range(0, 8 * Inputs).Select(_ => (float)random.NextDouble() - 0.5f).ToArray(), [8, Inputs]);
            var loss = model.forward(x).pow(2).mean();
            loss.backward();
            optimizer.Finish();
        }
    }
}
