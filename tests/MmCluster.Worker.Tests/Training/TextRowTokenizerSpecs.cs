using MmCluster.Shared.Text;
using MmCluster.Worker.Model;
using MmCluster.Worker.Runtime;
using MmCluster.Worker.Training;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Training;

/// <summary>
/// The text rows a CLIP model's tower reads come from the tokenizer its config names: GPT-2's for the small presets,
/// CLIP's BPE (OpenCLIP's <c>tokenize()</c> rows) for ViT-B-32 and ViT-B-16, and a run spec's overrides pick it.
/// </summary>
public sealed class TextRowTokenizerSpecs
{
    [Fact]
    public void Should_write_open_clip_rows_when_the_model_is_vit_b_32()
    {
        var tokenizer = TextRowTokenizers.For(ClipConfig.VitB32);

        var rows = tokenizer.EncodeBatch(["a photo of a dog.", "A  Photo OF a Dog."]);

        Assert.Equal(TextTokenizers.ClipBpe, tokenizer.Name);
        Assert.Equal(77, tokenizer.ContextLength);
        // OpenCLIP: start, "a</w>" 320, "photo</w>" 1125, "of</w>" 539, "a</w>" 320, "dog</w>" 1929, "."</w> 269, end, zeros.
        long[] expected = [49406, 320, 1125, 539, 320, 1929, 269, 49407];
        Assert.Equal(expected, rows[..8]);
        Assert.All(rows[8..77], id => Assert.Equal(0, id));
        Assert.Equal(rows[..77], rows[77..]);                               // lower-cased, runs of spaces collapsed
    }

    [Fact]
    public void Should_keep_the_end_token_last_when_a_text_is_longer_than_the_context()
    {
        var tokenizer = TextRowTokenizers.For(ClipConfig.VitB32 with { ContextLength = 8 });

        var row = tokenizer.EncodeBatch([string.Join(' ', Enumerable.Repeat("photo", 20))]);

        Assert.Equal([49406, 1125, 1125, 1125, 1125, 1125, 1125, 49407], row);
    }

    [Fact]
    public void Should_pool_at_the_end_token_when_the_tower_reads_clip_rows()
    {
        using var scope = NewDisposeScope();
        var config = ClipConfig.VitB32 with { ContextLength = 12 };
        var rows = TextRowTokenizers.For(config).EncodeBatch(["a photo of a sneaker", "ankle boot"]);
        using var tokens = tensor(rows, [2, 12]);

        using var eot = tokens.argmax(-1);

        // The tower pools where the row's largest id is: CLIP's end token, the vocabulary's last id.
        Assert.Equal(ClipTokenizer.EndOfTextId, config.EndOfText);
        Assert.Equal([rows[..12].AsSpan().IndexOf(49407L), rows[12..].AsSpan().IndexOf(49407L)], eot.data<long>().ToArray());
    }

    [Fact]
    public void Should_keep_gpt2_rows_when_the_model_is_a_small_preset()
    {
        var tokenizer = TextRowTokenizers.For(ClipConfig.Mini);

        Assert.Equal(TextTokenizers.Gpt2, tokenizer.Name);
        Assert.Equal(new CaptionTokenizer(32).Encode("a photo of a bag"), tokenizer.EncodeBatch(["a photo of a bag"]));
    }

    [Fact]
    public void Should_apply_every_clip_override_when_a_spec_shrinks_vit_b_32()
    {
        var config = ModelOverrides.Apply(ClipConfig.VitB32, new Dictionary<string, string>
        {
            ["image_size"] = "32", ["patch_size"] = "16", ["vision_width"] = "64", ["vision_layers"] = "1", ["vision_heads"] = "2",
            ["text_width"] = "48", ["text_layers"] = "1", ["text_heads"] = "2", ["embed_dim"] = "24", ["context_length"] = "16",
            ["mlp_ratio"] = "2", ["image_channels"] = "1", ["init_logit_scale"] = "2.5",
        });

        Assert.Equal(
            (32, 16, 64, 1, 2, 48, 1, 2, 24, 16, 2, 1, 2.5, TextTokenizers.ClipBpe, 49408),
            (config.ImageSize, config.PatchSize, config.VisionWidth, config.VisionLayers, config.VisionHeads, config.TextWidth, config.TextLayers,
                config.TextHeads, config.EmbedDim, config.ContextLength, config.MlpRatio, config.ImageChannels, config.InitLogitScale, config.Tokenizer,
                config.VocabSize));
    }

    [Fact]
    public void Should_switch_the_vocabulary_with_the_tokenizer_when_a_small_preset_asks_for_clip_bpe()
    {
        var config = ModelOverrides.Apply(ClipConfig.Mini, new Dictionary<string, string> { ["tokenizer"] = "clip-bpe" });

        Assert.Equal((TextTokenizers.ClipBpe, 49408, 49407L), (config.Tokenizer, config.VocabSize, config.EndOfText));
        Assert.IsType<ClipBpeRowTokenizer>(TextRowTokenizers.For(config));
    }

    [Theory]
    [InlineData("patch_sise", "3", "model.overrides.patch_sise is not a setting of this stage's model (known: image_size")]
    [InlineData("vision_width", "-4", "model.overrides.vision_width: '-4' is not a positive integer")]
    [InlineData("tokenizer", "sentencepiece", "Tokenizer 'sentencepiece' is not one of clip-bpe, gpt2")]
    [InlineData("patch_size", "5", "ImageSize 224 is not a multiple of PatchSize 5")]
    public void Should_name_the_setting_when_a_clip_override_is_wrong(string key, string value, string message)
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => ModelOverrides.Apply(ClipConfig.VitB32, new Dictionary<string, string> { [key] = value }));

        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Should_refuse_clip_bpe_when_the_vocabulary_does_not_end_at_its_end_token()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            ModelOverrides.Apply(ClipConfig.VitB32, new Dictionary<string, string> { ["vocab_size"] = "50257" }));

        Assert.Contains("the clip-bpe tokenizer needs VocabSize 49408, got 50257", error.Message);
    }
}
