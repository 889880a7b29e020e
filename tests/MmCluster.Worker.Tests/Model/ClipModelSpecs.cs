using MmCluster.Worker.Model;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Model;

public sealed class ClipModelSpecs
{
    private static Tensor Tokens(ClipConfig config, params long[][] rows)
    {
        var ids = new long[rows.Length * config.ContextLength];
        for (var r = 0; r < rows.Length; r++)
        {
            rows[r].CopyTo(ids, r * config.ContextLength);
        }
        return tensor(ids, [rows.Length, config.ContextLength]);
    }

    [Fact]
    public void Should_output_normalized_features_of_embed_dim_when_clip_tiny_encodes_a_batch()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(1);
        var config = ClipConfig.Tiny;
        using var model = new ClipModel(config);
        var images = randn(3, 1, 28, 28);
        var tokens = Tokens(config, [10, 20, 50256], [7, 50256], [1, 2, 3, 4, 50256]);

        var (image, text) = model.forward(images, tokens);

        Assert.Equal(new long[] { 3, 128 }, image.shape);
        Assert.Equal(new long[] { 3, 128 }, text.shape);
        Assert.True(image.norm(1).sub(1).abs().max().item<float>() < 1e-5);
        Assert.True(text.norm(1).sub(1).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void Should_have_the_issue_sizes_when_preset_is_clip_tiny()
    {
        var config = ClipConfig.FromPreset("clip-tiny");
        Assert.Equal((1, 28, 4, 50), (config.ImageChannels, config.ImageSize, config.PatchSize, config.VisionSequenceLength));
        Assert.Equal((128, 4, 4, 4), (config.VisionWidth, config.VisionLayers, config.VisionHeads, config.MlpRatio));
        Assert.Equal((50257, 32, 128, 4, 4, 128), (config.VocabSize, config.ContextLength, config.TextWidth, config.TextLayers, config.TextHeads, config.EmbedDim));
        using var model = new ClipModel(config);
        // 6,432,896 token embedding + 8 blocks x 198,272 + embeddings, norms and projections.
        Assert.Equal(8_065_281, model.parameters().Sum(p => p.numel()));
    }

    [Theory]
    [InlineData("ViT-B-32", 151_277_313L, 32, 50)]     // OpenCLIP's counts: 87,849,216 image tower + 63,428,097 text tower and logit scale
    [InlineData("ViT-B-16", 149_620_737L, 16, 197)]
    public void Should_equal_open_clips_vit_b_in_parameter_count_names_and_shapes(string preset, long parameters, int patch, int tokens)
    {
        using var model = new ClipModel(ClipConfig.FromPreset(preset));
        var shapes = model.state_dict().ToDictionary(p => p.Key, p => p.Value.shape);

        Assert.Equal(parameters, model.parameters().Sum(p => p.numel()));
        // OpenCLIP's state_dict of the same model (open_clip/model.py, transformer.py): 12 blocks per tower, nothing else.
        Assert.Equal(6 + (12 * 12) + 4 + (12 * 12) + 4, shapes.Count);
        Assert.Equal([768L, 3, patch, patch], shapes["visual.conv1.weight"]);
        Assert.Equal([768L], shapes["visual.class_embedding"]);
        Assert.Equal([(long)tokens, 768], shapes["visual.positional_embedding"]);
        Assert.Equal([2304L, 768], shapes["visual.transformer.resblocks.11.attn.in_proj_weight"]);
        Assert.Equal([3072L, 768], shapes["visual.transformer.resblocks.11.mlp.c_fc.weight"]);
        Assert.Equal([768L, 512], shapes["visual.proj"]);
        Assert.Equal([49408L, 512], shapes["token_embedding.weight"]);
        Assert.Equal([77L, 512], shapes["positional_embedding"]);
        Assert.Equal([1536L, 512], shapes["transformer.resblocks.11.attn.in_proj_weight"]);
        Assert.Equal([512L, 2048], shapes["transformer.resblocks.11.mlp.c_proj.weight"]);
        Assert.Equal([512L, 512], shapes["text_projection"]);
        Assert.Equal([512L], shapes["ln_final.weight"]);
        Assert.Empty(shapes["logit_scale"]);
    }

    [Fact]
    public void Should_use_open_clip_state_dict_names_when_listing_parameters()
    {
        using var model = new ClipModel(ClipConfig.Micro);
        var keys = model.state_dict().Keys.ToHashSet();
        string[] expected =
        [
            "visual.conv1.weight", "visual.class_embedding", "visual.positional_embedding", "visual.ln_pre.weight",
            "visual.transformer.resblocks.0.ln_1.weight", "visual.transformer.resblocks.0.attn.in_proj_weight",
            "visual.transformer.resblocks.0.attn.in_proj_bias", "visual.transformer.resblocks.0.attn.out_proj.weight",
            "visual.transformer.resblocks.0.mlp.c_fc.weight", "visual.transformer.resblocks.0.mlp.c_proj.bias",
            "visual.ln_post.bias", "visual.proj", "token_embedding.weight", "positional_embedding",
            "transformer.resblocks.0.attn.in_proj_weight", "ln_final.weight", "text_projection", "logit_scale",
        ];
        Assert.All(expected, key => Assert.Contains(key, keys));
    }

    [Fact]
    public void Should_start_logit_scale_at_log_of_1_over_0_07_when_created()
    {
        using var model = new ClipModel(ClipConfig.Micro);
        Assert.Equal(Math.Log(1 / 0.07), model.LogitScale.item<float>(), 5);
    }

    [Fact]
    public void Should_pick_the_hidden_state_at_the_eot_position_when_pooling()
    {
        using var scope = NewDisposeScope();
        var tokens = tensor(new long[] { 5, 9, 63, 0, 0, 63, 0, 0, 1, 2, 3, 63 }, [3, 4]);
        var hidden = arange(3 * 4 * 2, dtype: ScalarType.Float32).view(3, 4, 2);   // value encodes (row, position)

        var pooled = ClipModel.PoolAtEndOfText(tokens, hidden);

        Assert.Equal(new float[] { 4, 5, 10, 11, 22, 23 }, pooled.data<float>().ToArray());   // positions 2, 1, 3
    }

    [Fact]
    public void Should_keep_earlier_outputs_when_a_later_position_changes_in_the_causal_transformer()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(2);
        using var causal = new Transformer(16, 2, 2, 4, causal: true);
        causal.ResetParameters();
        var x = randn(2, 6, 16);
        var changed = x.clone();
        changed[.., 4] = randn(2, 16);

        var before = causal.forward(x);
        var after = causal.forward(changed);

        Assert.True(before[.., ..4].eq(after[.., ..4]).all().item<bool>());
        Assert.False(before[.., 4..].allclose(after[.., 4..]));
    }

    [Fact]
    public void Should_ignore_tokens_after_eot_and_see_tokens_before_it_when_encoding_text()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        var config = ClipConfig.Micro;
        using var model = new ClipModel(config);
        var eot = config.EndOfText;

        var reference = model.EncodeText(Tokens(config, [4, 5, 6, eot]));
        var padChanged = model.EncodeText(Tokens(config, [4, 5, 6, eot, 9, 9, 9]));
        var textChanged = model.EncodeText(Tokens(config, [4, 7, 6, eot]));

        Assert.True(reference.eq(padChanged).all().item<bool>());
        Assert.False(reference.allclose(textChanged));
    }

    [Fact]
    public void Should_let_the_class_token_see_every_patch_when_encoding_images()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(4);
        using var model = new ClipModel(ClipConfig.Micro);
        var images = randn(1, 1, 8, 8);
        var changed = images.clone();
        changed[.., .., 7, 7] = tensor(5f);

        Assert.False(model.EncodeImage(images).allclose(model.EncodeImage(changed)));
    }
}
