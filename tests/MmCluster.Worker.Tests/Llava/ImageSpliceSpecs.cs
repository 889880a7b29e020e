using MmCluster.Worker.Model.Lm;
using Xunit;
using static TorchSharp.torch;

namespace MmCluster.Worker.Tests.Llava;

/// <summary>Where image tokens, their mask and the shifted labels go in the spliced sequence: hand-written cases.</summary>
public sealed class ImageSpliceSpecs
{
    private const long X = CaptionTargets.IgnoreIndex;

    [Theory]
    [InlineData(2, new long[] { 10, X, X, X, 11, 12, 13 })]   // text 1 precedes the image; the last image token predicts 11
    [InlineData(1, new long[] { X, X, X, 10, 11, 12, 13 })]   // BOS, image, text: the last image token predicts 10
    [InlineData(0, new long[] { X, X, X, 10, 11, 12, 13 })]   // image first: nothing predicts text token 0
    [InlineData(4, new long[] { 10, 11, 12, X, X, X, 13 })]   // image last
    public void Should_move_the_label_before_the_image_to_its_last_token_when_labels_are_spliced(long position, long[] expected)
    {
        using var scope = NewDisposeScope();
        var labels = tensor(new long[] { 10, 11, 12, 13 }, [1, 4]);

        var spliced = ImageSplice.Labels(labels, position, imageTokens: 3);

        Assert.Equal(expected, spliced.data<long>().ToArray());
    }

    [Fact]
    public void Should_mark_only_the_image_positions_when_the_mask_is_built()
    {
        using var scope = NewDisposeScope();

        var mask = ImageSplice.Mask(rows: 2, textTokens: 3, position: 1, imageTokens: 2);

        Assert.Equal(new long[] { 2, 5, 1 }, mask.shape);
        bool[] row = [false, true, true, false, false];
        Assert.Equal([.. row, .. row], mask.data<bool>().ToArray());
    }

    [Fact]
    public void Should_put_text_before_and_after_the_image_when_embeddings_are_spliced()
    {
        using var scope = NewDisposeScope();
        var text = arange(3, dtype: ScalarType.Float32).view(1, 3, 1);     // text tokens 0, 1, 2
        var image = full([1, 2, 1], -1f);

        var spliced = ImageSplice.Embeddings(text, image, 2);

        Assert.Equal(new[] { 0f, 1f, -1f, -1f, 2f }, spliced.data<float>().ToArray());
    }

    [Fact]
    public void Should_reject_the_position_when_it_lies_past_the_text()
    {
        using var scope = NewDisposeScope();
        var labels = zeros([1, 3], ScalarType.Int64);

        Assert.Throws<ArgumentOutOfRangeException>(() => ImageSplice.Labels(labels, 4, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageSplice.Mask(1, 3, -1, 2));
    }
}
