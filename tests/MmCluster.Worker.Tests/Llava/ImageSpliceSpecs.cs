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
    public void Should_give_each_row_its_own_layout_when_rows_have_their_own_image_positions()
    {
        using var scope = NewDisposeScope();
        var text = arange(8, dtype: ScalarType.Float32).view(2, 4, 1);     // row 0: 0..3, row 1: 4..7
        var image = tensor(new[] { -1f, -2f, -3f, -4f }, [2, 2, 1]);         // row 0: -1, -2, row 1: -3, -4
        var labels = tensor(new long[] { 10, 11, 12, 13, 20, 21, 22, 23 }, [2, 4]);
        long[] positions = [1, 3];

        var spliced = ImageSplice.Embeddings(text, image, positions);
        var splicedLabels = ImageSplice.Labels(labels, positions, imageTokens: 2);
        var mask = ImageSplice.Mask(textTokens: 4, positions, imageTokens: 2);

        Assert.Equal(new[] { 0f, -1f, -2f, 1f, 2f, 3f, 4f, 5f, 6f, -3f, -4f, 7f }, spliced.data<float>().ToArray());
        Assert.Equal(new long[] { X, X, 10, 11, 12, 13, 20, 21, X, X, 22, 23 }, splicedLabels.data<long>().ToArray());
        Assert.Equal(new[] { false, true, true, false, false, false, false, false, false, true, true, false }, mask.data<bool>().ToArray());
        // Each row is what the single-position path gives it alone.
        for (var b = 0; b < 2; b++)
        {
            Assert.Equal(ImageSplice.Embeddings(text.narrow(0, b, 1), image.narrow(0, b, 1), positions[b]).data<float>().ToArray(), spliced[b].data<float>().ToArray());
            Assert.Equal(ImageSplice.Labels(labels.narrow(0, b, 1), positions[b], 2).data<long>().ToArray(), splicedLabels[b].data<long>().ToArray());
        }
    }

    [Fact]
    public void Should_carry_gradients_back_to_each_rows_text_and_image_when_positions_differ()
    {
        using var scope = NewDisposeScope();
        var text = randn(2, 3, 4).requires_grad_();
        var image = randn(2, 2, 4).requires_grad_();
        var weights = randn(2, 5, 4);

        (ImageSplice.Embeddings(text, image, [0L, 2L]) * weights).sum().backward();

        // Every element is used once: its gradient is the weight at the place it was put.
        Assert.Equal(weights[0].narrow(0, 0, 2).data<float>().ToArray(), image.grad![0].data<float>().ToArray());
        Assert.Equal(weights[1].narrow(0, 2, 2).data<float>().ToArray(), image.grad![1].data<float>().ToArray());
        Assert.Equal(weights[1].narrow(0, 0, 2).data<float>().ToArray(), text.grad![1].narrow(0, 0, 2).data<float>().ToArray());
        Assert.Equal(weights[1][4].data<float>().ToArray(), text.grad![1][2].data<float>().ToArray());
    }

    [Fact]
    public void Should_reject_the_position_when_it_lies_past_the_text()
    {
        using var scope = NewDisposeScope();
        var labels = zeros([1, 3], ScalarType.Int64);

        Assert.Throws<ArgumentOutOfRangeException>(() => ImageSplice.Labels(labels, 4, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageSplice.Mask(1, 3, -1, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageSplice.Labels(zeros([2, 3], ScalarType.Int64), [1L, 4L], 2));
        Assert.Throws<ArgumentException>(() => ImageSplice.Labels(labels, [1L, 1L], 2));          // two positions, one row
    }
}
