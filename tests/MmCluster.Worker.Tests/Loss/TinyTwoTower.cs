using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MmCluster.Worker.Tests.Loss;

/// <summary>
/// The smallest model that exercises every gradient path of a contrastive loss: two MLP towers into a shared space,
/// L2-normalized, plus a learnable logit scale and bias. Weights come from a private generator, so replicas built
/// with the same seed are identical whatever other tests do to the global RNG.
/// </summary>
internal sealed class TinyTwoTower : Module<Tensor, Tensor, (Tensor Image, Tensor Text)>
{
    public const int ImageInputs = 12;
    public const int TextInputs = 10;
    public const int Embedding = 8;

    public readonly Parameter logit_scale;
    public readonly Parameter logit_bias;

    private readonly Sequential image_tower;
    private readonly Sequential text_tower;

    public TinyTwoTower(long seed, double logitScale, double logitBias, ScalarType dtype = ScalarType.Float32)
        : base(nameof(TinyTwoTower))
    {
        image_tower = Sequential(Linear(ImageInputs, 16), Tanh(), Linear(16, Embedding));
        text_tower = Sequential(Linear(TextInputs, 16), Tanh(), Linear(16, Embedding));
        logit_scale = Parameter(tensor(logitScale));
        logit_bias = Parameter(tensor(logitBias));
        RegisterComponents();
        this.to(dtype);

        using var noGrad = no_grad();
        var generator = new Generator((ulong)seed);
        foreach (var (name, parameter) in named_parameters().Where(p => p.name.Contains("tower")))
        {
            using var init = randn(parameter.shape, dtype, generator: generator);
            using var scaled = init * 0.5;
            parameter.copy_(scaled);
        }
    }

    public override (Tensor Image, Tensor Text) forward(Tensor images, Tensor texts)
    {
        using var image = image_tower.forward(images);   // (b, 12) -> (b, 8)
        using var text = text_tower.forward(texts);      // (b, 10) -> (b, 8)
        return (functional.normalize(image, dim: 1), functional.normalize(text, dim: 1));
    }

    /// <summary>(name, gradient as float64 values) for every parameter, in registration order.</summary>
    public IReadOnlyList<(string Name, double[] Gradient)> Gradients()
    {
        var result = new List<(string, double[])>();
        foreach (var (name, parameter) in named_parameters())
        {
            using var grad = parameter.grad;
            if (grad is null)
            {
                throw new InvalidOperationException($"parameter {name} has no gradient");
            }

            using var values = grad.to_type(ScalarType.Float64);
            result.Add((name, values.data<double>().ToArray()));
        }

        return result;
    }
}
