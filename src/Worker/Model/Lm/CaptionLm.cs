using MmCluster.Worker.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MmCluster.Worker.Model.Lm;

/// <summary>
/// A small GPT-2-style causal decoder (nanoGPT's model.py in OpenCLIP's block layout): token embedding plus learned
/// positions, pre-LN causal transformer, ln_f, and an output head tied to the token embedding. It can run from embeddings
/// (<see cref="ForwardEmbeddings"/>) so BLIP-2 stage 2 can prepend projected query embeddings as a soft prompt, the way
/// blip2_opt.py passes <c>inputs_embeds</c> to OPT. Only the caption tokens get positions (see <see cref="Embed"/>).
/// </summary>
public sealed class CaptionLm : Module<Tensor, Tensor>
{
    private readonly Embedding token_embedding;
    private readonly Parameter positional_embedding;
    private readonly Transformer transformer;
    private readonly LayerNorm ln_f;

    public CaptionLm(CaptionLmConfig config) : base(nameof(CaptionLm))
    {
        Config = config.Validate();
        token_embedding = Embedding(config.VocabSize, config.Width);
        positional_embedding = Parameter(empty(config.ContextLength, config.Width));
        transformer = new Transformer(config.Width, config.Layers, config.Heads, config.MlpRatio, causal: true);
        ln_f = LayerNorm(config.Width);
        RegisterComponents();
        ResetParameters();
    }

    public CaptionLmConfig Config { get; }

    /// <summary>The (V, W) token embedding, also the output head's weight (tied, as in GPT-2).</summary>
    public Tensor OutputWeight => token_embedding.weight!;

    public void ResetParameters()
    {
        using var _ = no_grad();
        init.normal_(token_embedding.weight!, 0, 0.02);
        init.normal_(positional_embedding, 0, 0.01);
        transformer.ResetParameters();
    }

    /// <summary>(B, T) ids -> (B, T, W): token embedding plus positions <paramref name="start"/>..start+T-1.</summary>
    public Tensor Embed(Tensor tokens, long start = 0)
    {
        var t = tokens.shape[1];
        if (start < 0 || start + t > Config.ContextLength)
        {
            throw new ArgumentException($"{t} tokens from position {start} exceed the language model's context of {Config.ContextLength}", nameof(tokens));
        }
        using var embedded = token_embedding.forward(tokens);
        using var positions = positional_embedding.narrow(0, start, t);
        return embedded.Plus(positions);
    }

    /// <summary>
    /// <see cref="Embed"/> under no_grad while every parameter is frozen: a frozen language model's token lookup needs no
    /// graph (the gradient to a soft prompt flows through the transformer, not through the lookup).
    /// </summary>
    public Tensor EmbedInputs(Tensor tokens, long start = 0)
    {
        if (parameters().Any(p => p.requires_grad))
        {
            return Embed(tokens, start);
        }
        using var _ = no_grad();
        return Embed(tokens, start);
    }

    /// <summary>
    /// (B, L, W) input embeddings (prefix and/or <see cref="Embed"/> output) -> (B, L, W) final hidden states. With a
    /// <paramref name="cache"/> (<see cref="NewCache"/>) the L positions follow the cached ones and are cached in turn.
    /// <paramref name="deltas"/>, when given, add to the blocks' linear layers (<see cref="PartialLora"/>).
    /// </summary>
    public Tensor ForwardEmbeddings(Tensor inputsEmbeds, KeyValueCache? cache = null, ILayerDeltas? deltas = null)
    {
        using var h = transformer.Forward(inputsEmbeds, cache, deltas);
        return ln_f.forward(h);
    }

    /// <summary>An empty key-value cache for <paramref name="capacity"/> positions of this model (dispose it).</summary>
    public KeyValueCache NewCache(long capacity) => new(transformer.Layers, capacity);

    /// <summary>(B, N, W) or (N, W) hidden states -> logits over the vocabulary (tied head).</summary>
    public Tensor Logits(Tensor hidden) => MixedPrecision.Linear(hidden, token_embedding.weight!, null);

    /// <summary>(B, T) ids -> (B, T, V) logits.</summary>
    public override Tensor forward(Tensor tokens)
    {
        using var x = Embed(tokens);
        using var h = ForwardEmbeddings(x);
        return Logits(h);
    }
}
