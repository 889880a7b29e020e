using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Model.Llava;
using MmCluster.Worker.Training;
using TorchSharp;
using Xunit;
using static MmCluster.Worker.Tests.Llava.LlavaFixtures;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Llava;

/// <summary>
/// Partial LoRA on micro sizes: its names, text-only logits equal to the base language model's bit for bit after the
/// deltas were trained, positions before the image untouched and image positions changed, gradients only to the deltas and
/// the projector, and cached generation through the deltas.
/// </summary>
public sealed class PloraModelSpecs
{
    private const long ImagePosition = 2;

    [Fact]
    public void Should_name_the_deltas_beside_the_unchanged_lm_when_the_state_dict_is_listed()
    {
        using var plora = NewPlora();
        using var lm = new CaptionLm(Lm);
        var state = plora.state_dict();
        var w = Lm.Width;

        Assert.Superset(lm.state_dict().Keys.Select(k => $"lm.{k}").ToHashSet(), state.Keys.ToHashSet());
        var deltas = state.Where(kv => kv.Key.StartsWith("plora.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        Assert.Equal(Lm.Layers * 8, deltas.Count);
        Assert.Equal([2, w], deltas["plora.resblocks.0.attn_in_proj.plora_a"]);
        Assert.Equal([3 * w, 2], deltas["plora.resblocks.0.attn_in_proj.plora_b"]);
        Assert.Equal([2, w], deltas["plora.resblocks.1.attn_out_proj.plora_a"]);
        Assert.Equal([4 * w, 2], deltas["plora.resblocks.1.mlp_c_fc.plora_b"]);
        Assert.Equal([2, 4 * w], deltas["plora.resblocks.1.mlp_c_proj.plora_a"]);
        Assert.All(state.Where(kv => kv.Key.EndsWith("plora_b", StringComparison.Ordinal)), kv => Assert.Equal(0, kv.Value.abs().sum().item<float>()));
    }

    [Fact]
    public void Should_give_the_base_lm_logits_bit_for_bit_when_the_trained_model_reads_text_only()
    {
        using var plora = Trained();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = Ids(3, 6, 21);

        var logits = plora.TextLogits(ids);
        var baseLogits = plora.LanguageModel.forward(ids);

        Assert.True(BitEqual(baseLogits, logits), "text-only logits equal the base CaptionLm's (torch.equal)");
    }

    [Fact]
    public void Should_change_only_the_image_positions_and_after_when_the_deltas_are_trained()
    {
        using var plora = Trained();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (images, ids) = (Images(2, 22), Ids(2, 4, 23));
        var trained = plora.Forward(images, ids, ImagePosition);                   // (B, 2 + 4 + 2, W)
        foreach (var (name, parameter) in plora.named_parameters().Where(p => p.name.EndsWith("plora_b", StringComparison.Ordinal)))
        {
            parameter.zero_();                                                     // deltas off: the base model
        }

        var untrained = plora.Forward(images, ids, ImagePosition);

        Assert.True(BitEqual(untrained.narrow(1, 0, ImagePosition), trained.narrow(1, 0, ImagePosition)), "text before the image");
        Assert.True(MaxDifference(untrained.narrow(1, ImagePosition, 4), trained.narrow(1, ImagePosition, 4)) > 1e-4, "image positions");
    }

    [Fact]
    public void Should_send_gradients_only_to_the_deltas_and_projector_when_the_base_is_frozen()
    {
        using var plora = NewPlora();
        using var scope = NewDisposeScope();
        FrozenParameters.Apply(plora, PloraModel.FrozenPrefixes);
        var ids = Ids(2, 4, 24);

        plora.Loss(Images(2, 25), ids, Labels(ids), ImagePosition).backward();

        var (nonZero, any) = Gradients(plora);
        AssertStartsWithAny(any, "plora.", "mm_projector.");
        Assert.Contains("mm_projector.0.weight", nonZero);
        Assert.All(any.Where(n => n.EndsWith("plora_b", StringComparison.Ordinal)), n => Assert.Contains(n, nonZero));
        Assert.Equal(Lm.Layers * 4, any.Count(n => n.EndsWith("plora_b", StringComparison.Ordinal)));
    }

    [Fact]
    public void Should_generate_what_rerunning_the_whole_sequence_generates_when_the_deltas_are_trained()
    {
        using var plora = Trained();

        var (cached, naive) = CachedAndNaive(plora, ImagePosition, seed: 26);

        Assert.Equal(naive, cached);
        Assert.Contains(cached, c => c.Length > 1);
    }

    [Fact]
    public void Should_keep_live_tensor_count_flat_when_steps_and_answers_repeat()
    {
        using var plora = NewPlora();
        FrozenParameters.Apply(plora, PloraModel.FrozenPrefixes);
        using var images = Images(2, 50);
        using var ids = Ids(2, 4, 51);
        using var labels = Labels(ids);

        AssertFlatLiveTensors(() =>
        {
            using (NewDisposeScope())
            {
                plora.zero_grad();
                plora.Loss(images, ids, labels, ImagePosition).backward();
            }
            plora.Generate(images, ids, ImagePosition, maxTokens: 4, Lm.EndOfText);
        });
    }

    /// <summary>A PLoRA model whose deltas took a few SGD steps with the base frozen (every plora_b non-zero).</summary>
    private static PloraModel Trained()
    {
        var plora = NewPlora();
        FrozenParameters.Apply(plora, PloraModel.FrozenPrefixes);
        using var optimizer = optim.SGD(plora.parameters().Where(p => p.requires_grad), learningRate: 0.5);
        for (var step = 0; step < 3; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var ids = Ids(4, 4, 30 + step);
            plora.Loss(Images(4, 40 + step), ids, Labels(ids), ImagePosition).backward();
            optimizer.step();
        }
        Assert.All(plora.named_parameters().Where(p => p.name.EndsWith("plora_b", StringComparison.Ordinal)),
            p => Assert.True(p.parameter.abs().sum().item<float>() > 0, $"{p.name} trained"));
        return plora;
    }
}
