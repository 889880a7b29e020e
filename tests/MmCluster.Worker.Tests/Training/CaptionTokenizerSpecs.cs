using MmCluster.Worker.Training;
using Xunit;

namespace MmCluster.Worker.Tests.Training;

public sealed class CaptionTokenizerSpecs
{
    private readonly CaptionTokenizer tokenizer = new(contextLength: 16);

    [Fact]
    public void Should_decode_to_the_caption_when_encoded_with_gpt2_bpe()
    {
        const string caption = "a photo of an ankle boot.";
        var ids = tokenizer.Encode(caption);
        Assert.Equal(caption, tokenizer.Decode(ids));
        Assert.Equal(new long[] { 64, 4590, 286, 281 }, ids[..4]);   // GPT-2 ids of "a", " photo", " of", " an"
    }

    [Fact]
    public void Should_end_with_eot_then_zeros_when_caption_is_short()
    {
        var ids = tokenizer.Encode("a bag");
        Assert.Equal(16, ids.Length);
        Assert.Equal(CaptionTokenizer.EndOfText, ids[2]);
        Assert.All(ids[3..], id => Assert.Equal(0, id));
        Assert.Equal(2, Array.IndexOf(ids, ids.Max()));   // argmax pooling finds the EOT
    }

    [Fact]
    public void Should_put_eot_last_when_caption_is_longer_than_the_context()
    {
        var ids = tokenizer.Encode(string.Join(' ', Enumerable.Repeat("sneaker", 40)));
        Assert.Equal(CaptionTokenizer.EndOfText, ids[^1]);
        Assert.DoesNotContain(CaptionTokenizer.EndOfText, ids[..^1]);
    }

    [Fact]
    public void Should_lay_rows_out_one_after_another_when_encoding_a_batch()
    {
        var ids = tokenizer.EncodeBatch(["a coat", "a dress"]);
        Assert.Equal(32, ids.Length);
        Assert.Equal(tokenizer.Encode("a dress"), ids[16..]);
    }
}
