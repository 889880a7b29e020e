using MmCluster.Worker.Checkpoints;
using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Loss;
using MmCluster.Worker.Runtime;
using MmCluster.Worker.Training;
using TorchSharp;
using Xunit;

namespace MmCluster.Worker.Tests.Runtime;

/// <summary>
/// <c>mmcluster embed</c>'s model against OpenCLIP's: the committed fixture's weights, inputs and the embeddings a
/// Python re-implementation of OpenCLIP's CLIP computed (bench/openclip_reference.py), equal to 1e-4. The ViT-B-32 check
/// at full size is bench/openclip-equality.sh (it needs Python and PyTorch).
/// </summary>
public sealed class ClipEmbedderSpecs
{
    [Fact]
    public void Should_equal_open_clips_image_embeddings_to_1e_4_when_the_fixture_pixels_are_embedded()
    {
        using var embedder = ClipEmbedder.Load(OpenClipFixture.Weights);
        var pixels = OpenClipFixture.Floats("input.pixels");
        var count = (int)OpenClipFixture.Entry("input.pixels").Shape[0];

        var actual = embedder.EmbedPixels(pixels, count);

        Assert.Equal("openclip-micro", embedder.Preset);
        Assert.InRange(OpenClipFixture.MaxAbsDifference(actual, OpenClipFixture.Rows("expected.image")), 0, OpenClipFixture.Tolerance);
    }

    [Fact]
    public void Should_equal_open_clips_text_embeddings_to_1e_4_when_the_fixture_token_rows_are_embedded()
    {
        using var embedder = ClipEmbedder.Load(OpenClipFixture.Weights);
        var tokens = OpenClipFixture.Longs("input.tokens");
        var count = (int)OpenClipFixture.Entry("input.tokens").Shape[0];

        var actual = embedder.EmbedTokens(tokens, count);

        Assert.InRange(OpenClipFixture.MaxAbsDifference(actual, OpenClipFixture.Rows("expected.text")), 0, OpenClipFixture.Tolerance);
    }

    [Fact]
    public void Should_equal_open_clips_quickgelu_embeddings_to_1e_4_when_the_same_weights_run_with_quickgelu()
    {
        using var model = new ClipModel(ClipConfig.OpenClipMicro with { QuickGelu = true });
        WeightLoader.Load(model, OpenClipFixture.Weights);
        model.eval();
        using var _ = torch.no_grad();
        using var pixels = torch.tensor(OpenClipFixture.Floats("input.pixels"), OpenClipFixture.Entry("input.pixels").Shape);
        using var tokens = torch.tensor(OpenClipFixture.Longs("input.tokens"), OpenClipFixture.Entry("input.tokens").Shape);

        using var image = model.EncodeImage(pixels);
        using var text = model.EncodeText(tokens);

        var dim = ClipConfig.OpenClipMicro.EmbedDim;
        Assert.InRange(OpenClipFixture.MaxAbsDifference([.. image.data<float>().ToArray().Chunk(dim)], OpenClipFixture.Rows("expected.image_quickgelu")), 0, OpenClipFixture.Tolerance);
        Assert.InRange(OpenClipFixture.MaxAbsDifference([.. text.data<float>().ToArray().Chunk(dim)], OpenClipFixture.Rows("expected.text_quickgelu")), 0, OpenClipFixture.Tolerance);
        Assert.True(OpenClipFixture.MaxAbsDifference([.. image.data<float>().ToArray().Chunk(dim)], OpenClipFixture.Rows("expected.image")) > 1e-3);
    }

    [Fact]
    public void Should_equal_open_clips_embedding_of_the_png_when_it_is_already_the_models_size()
    {
        using var embedder = ClipEmbedder.Load(OpenClipFixture.Weights);

        var actual = embedder.EmbedImages([("image.png", File.ReadAllBytes(OpenClipFixture.Image))]);

        Assert.InRange(OpenClipFixture.MaxAbsDifference(actual, OpenClipFixture.Rows("expected.png_image")), 0, OpenClipFixture.Tolerance);
    }

    [Fact]
    public void Should_return_unit_vectors_that_differ_per_input_when_embedding()
    {
        using var embedder = ClipEmbedder.Load(OpenClipFixture.Weights);
        var rows = embedder.EmbedTokens(OpenClipFixture.Longs("input.tokens"), 3);

        Assert.All(rows, r => Assert.Equal(1.0, Math.Sqrt(r.Sum(x => (double)x * x)), 5));
        Assert.NotEqual(rows[0], rows[1]);
    }

    [Fact]
    public void Should_take_the_config_from_model_config_and_skip_training_state_when_given_a_run_directory()
    {
        var run = Directory.CreateTempSubdirectory("mmcluster-embed-run-").FullName;
        try
        {
            using var model = new ClipModel(ClipConfig.Micro with { VisionLayers = 2 });
            using var trainer = new TrainStep(model, new TrainOptions { LearningRate = 1e-3, WarmupSteps = 1, TotalSteps = 2 }, SingleRankGatherer.Instance);
            new CheckpointStore(Path.Combine(run, "checkpoints", "pretrain")).Save(model, trainer,
                new CheckpointMetadata(5, 0, 1) { Extra = new Dictionary<string, string> { ["kind"] = "clip" } });
            var rows = new long[] { 3, 9, 63, 0, 0, 0, 0, 0 };
            using var tokens = torch.tensor(rows, [1, 8]);
            using var expected = model.EncodeText(tokens);

            using var embedder = ClipEmbedder.Load(run);

            Assert.Null(embedder.Preset);
            Assert.Equal(model.Config, embedder.Config);
            Assert.Equal(expected.data<float>().ToArray(), Assert.Single(embedder.EmbedTokens(rows, 1)));
        }
        finally
        {
            Directory.Delete(run, recursive: true);
        }
    }

    [Fact]
    public void Should_refuse_texts_when_the_vocabulary_has_no_tokenizer()
    {
        using var embedder = ClipEmbedder.Load(OpenClipFixture.Weights);

        var error = Assert.Throws<InvalidOperationException>(() => embedder.EmbedTexts(["a photo"]));

        Assert.Null(embedder.Tokenizer);
        Assert.Contains("a vocabulary of 256 tokens is not the gpt2 tokenizer's (50257)", error.Message);
    }

    [Fact]
    public void Should_embed_the_centre_crop_as_open_clip_does_when_an_image_is_wider_than_high()
    {
        using var embedder = ClipEmbedder.Load(OpenClipFixture.Weights);
        var size = embedder.Config.ImageSize;
        var width = size + 16;
        using var wide = new SkiaSharp.SKBitmap(width, size);
        using var centre = new SkiaSharp.SKBitmap(size, size);
        for (var y = 0; y < size; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var colour = new SkiaSharp.SKColor((byte)(x * 5), (byte)(y * 7), (byte)((x * y) % 256));
                wide.SetPixel(x, y, colour);
                if (x >= 8 && x < 8 + size)
                {
                    centre.SetPixel(x - 8, y, colour);
                }
            }
        }

        var rows = embedder.EmbedImages([("wide.png", Png(wide)), ("centre.png", Png(centre))]);

        // The shorter side is already the model's size: OpenCLIP's preprocess is the centre crop alone.
        Assert.Equal(rows[1], rows[0]);
    }

    private static byte[] Png(SkiaSharp.SKBitmap bitmap)
    {
        using var image = SkiaSharp.SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
