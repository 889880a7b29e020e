using System.Diagnostics;
using MmCluster.Worker.Training;
using Xunit;
using Xunit.Abstractions;

namespace MmCluster.Worker.Tests.Training;

public sealed class CaptionTokenizerSpecs(ITestOutputHelper output)
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

    [Fact]
    public void Should_read_only_the_first_chars_when_a_caption_without_whitespace_is_a_megabyte_long()
    {
        var random = new Random(12);
        var huge = string.Concat(Enumerable.Range(0, 1 << 20).Select(_ => (char)random.Next('a', 'z' + 1)));   // one 1 MiB "word"
        var limited = new CaptionTokenizer(contextLength: 77);

        var watch = Stopwatch.StartNew();
        var ids = limited.Encode(huge);
        var elapsed = watch.Elapsed;

        Assert.Equal(limited.Encode(huge[..limited.MaxCaptionChars]), ids);   // the rest was never tokenized
        var short20 = new CaptionTokenizer(contextLength: 77, maxCaptionChars: 20).Encode(huge);
        Assert.InRange(Array.IndexOf(short20, CaptionTokenizer.EndOfText), 1, 20);   // ids of 20 characters, then the EOT
        output.WriteLine($"1 MiB caption tokenized in {elapsed.TotalMilliseconds:0} ms (its first {limited.MaxCaptionChars} characters)");
        Assert.True(elapsed < TimeSpan.FromSeconds(10), $"took {elapsed}");   // was > 5 minutes at 100% CPU before the cut
    }

    [Fact]
    public void Should_cut_before_a_surrogate_pair_when_the_limit_falls_inside_it()
    {
        var cut = new CaptionTokenizer(contextLength: 16, maxCaptionChars: 3);
        Assert.Equal(cut.Encode("ab"), cut.Encode("ab😀"));
    }
}
